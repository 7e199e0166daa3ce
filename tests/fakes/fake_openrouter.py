"""Fake OpenRouter: an OpenAI-compatible streaming endpoint on loopback for tests and benchmarks.

It speaks real HTTP over real sockets (Starlette app served by uvicorn in a background
thread), so the client is exercised as in production: keep-alive comments, chunked
bodies, events split across TCP writes, error events and abrupt disconnects.

Run standalone:
    python -m tests.fakes.fake_openrouter --port 8765 --chars 4000 --chunk 4 --delay 0.005
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_PARAGRAPH = (
    "Thanks for reaching out — I'm sorry your order hasn't arrived yet. "
    "I checked the tracking number and the parcel left our warehouse on Monday; "
    "carriers usually need 3 to 5 business days, so it should reach you by Friday. "
    "If it doesn't, reply here and I'll send a replacement or refund the 24.90 € right away. "
)


def make_text(chars: int) -> str:
    """A deterministic support-style answer of exactly `chars` characters (with non-ASCII)."""
    return (_PARAGRAPH * (chars // len(_PARAGRAPH) + 1))[:chars]


DEFAULT_TEXT = make_text(4000)
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"

Kind = Literal["ok", "status", "hang", "midstream_error", "finish_error", "cut", "tool_call"]


@dataclass(frozen=True)
class Behaviour:
    """What the fake does for one request; build it with the helper functions below."""

    kind: Kind
    code: int = 200
    retry_after: str | None = None
    seconds: float = 0.0
    after_chars: int = 0
    text: str | None = None  # "tool_call": the text written before the calls
    calls: tuple[tuple[str, str, str], ...] = ()  # "tool_call": (call id, function name, arguments)
    pieces: int = 3  # "tool_call": each call's arguments arrive in this many fragments


def ok(*, linger: float = 0.0) -> Behaviour:
    """Stream the whole text then `[DONE]`, keeping the connection open `linger` seconds after."""
    return Behaviour("ok", seconds=linger)


def status(code: int, *, retry_after: float | str | None = None) -> Behaviour:
    """Answer with an HTTP error and a JSON error body, like OpenRouter's 429/5xx/401."""
    return Behaviour("status", code=code, retry_after=None if retry_after is None else str(retry_after))


def hang(seconds: float, *, after_chars: int = 0) -> Behaviour:
    """Send headers (and `after_chars` of text, if any), go silent for `seconds`, then end the
    body cleanly but without `[DONE]`."""
    return Behaviour("hang", seconds=seconds, after_chars=after_chars)


def midstream_error(*, after_chars: int, code: int = 502) -> Behaviour:
    """Stream some text, then a top-level `error` event, then `[DONE]` (see also finish_error)."""
    return Behaviour("midstream_error", code=code, after_chars=after_chars)


def finish_error(*, after_chars: int) -> Behaviour:
    """Stream some text, then a chunk with `finish_reason: "error"`, then `[DONE]`."""
    return Behaviour("finish_error", after_chars=after_chars)


def cut(*, after_chars: int) -> Behaviour:
    """Stream some text, then drop the connection without finishing the HTTP body."""
    return Behaviour("cut", after_chars=after_chars)


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, *, text: str = "",
              call_id: str = "call_1", pieces: int = 3,
              more: tuple[tuple[str, str, dict[str, Any] | str], ...] = ()) -> Behaviour:
    """Stream `text` (may be empty), then a call of `name` with `arguments` as OpenAI-style
    `tool_calls` deltas (index, id, type and function name first, then the JSON arguments in
    `pieces` fragments), then `finish_reason: "tool_calls"` and `[DONE]`. `more`: further calls
    in the same response, as (call id, name, arguments). The follow-up request (the one carrying
    the `role: "tool"` results) gets the model's next scripted behaviour, by default `ok()`."""
    def encoded(value: dict[str, Any] | str | None) -> str:
        return value if isinstance(value, str) else json.dumps(value or {})
    calls = ((call_id, name, encoded(arguments)),
             *((cid, fn, encoded(args)) for cid, fn, args in more))
    return Behaviour("tool_call", text=text, calls=calls, pieces=max(1, pieces))


class _Abort(Exception):
    """Raised inside a response body so uvicorn closes the socket mid-response."""


def _hide_deliberate_aborts(record: logging.LogRecord) -> bool:
    """Keep uvicorn's 'Exception in ASGI application' log quiet for the aborts we cause."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, BaseExceptionGroup):
        return not error.subgroup(_Abort)
    return not isinstance(error, _Abort)


logging.getLogger("uvicorn.error").addFilter(_hide_deliberate_aborts)


class FakeOpenRouter:
    """A scripted fake of `POST /api/v1/chat/completions` (streaming) on 127.0.0.1.

    text, chunk_size, delay, keepalives, split_writes and report_model are read at the
    start of each request, so tests may change them between requests.
    """

    def __init__(
        self,
        *,
        text: str = DEFAULT_TEXT,
        chunk_size: int = 4,
        delay: float = 0.005,
        keepalives: int = 2,
        split_writes: bool = False,
        port: int = 0,
    ) -> None:
        self.text = text
        self.chunk_size = chunk_size
        self.delay = delay
        self.keepalives = keepalives
        self.split_writes = split_writes
        self.report_model: dict[str, str | None] = {}  # requested -> model in chunks (None: omit)
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        # (time.time() right after a text chunk was written, chars of that response so far)
        self.send_log: list[tuple[float, int]] = []
        self.base_url = ""
        self._port = port
        self._scripts: defaultdict[str, deque[Behaviour]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def script(self, model: str, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests to `model`; once used up, requests get `ok()`."""
        with self._lock:
            self._scripts[model].extend(behaviours)

    def start(self) -> FakeOpenRouter:
        sock = socket.create_server(("127.0.0.1", self._port))
        config = uvicorn.Config(
            Starlette(routes=[Route("/api/v1/chat/completions", self._completions, methods=["POST"])]),
            http="h11",
            loop="asyncio",
            lifespan="off",
            access_log=False,
            log_config=None,  # don't reconfigure the host process's logging
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(sock),), name="fake-openrouter", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake OpenRouter server did not start")
            time.sleep(0.005)
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
        return self

    def stop(self) -> None:
        """Abort open streams (including hangs) and shut the server down."""
        if self._server is None:
            return
        assert self._thread is not None and self._loop is not None and self._stopping is not None
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await self._server.serve(sockets=[sock])

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        model = str(body.get("model", ""))
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(dict(request.headers))
            queue = self._scripts.get(model)
            behaviour = queue.popleft() if queue else ok()
        if behaviour.kind == "status":
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after is not None else {}
            error = {
                "error": {
                    "message": f"Fake upstream error {behaviour.code}",
                    "code": behaviour.code,
                }
            }
            return JSONResponse(error, status_code=behaviour.code, headers=headers)
        return StreamingResponse(
            self._writes(self._events(model, behaviour)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    async def _events(self, model: str, behaviour: Behaviour) -> AsyncIterator[tuple[bytes, int | None]]:
        """SSE events for one response, each with the text chars sent so far (None: not text)."""
        text, size, delay = self.text, max(1, self.chunk_size), self.delay
        reported = self.report_model.get(model, model)
        if behaviour.kind == "tool_call":
            async for event in self._tool_call_events(reported, behaviour, size, delay):
                yield event
            return
        if behaviour.kind == "hang" and behaviour.after_chars == 0:
            await self._pause(behaviour.seconds)  # headers are out; the body never starts
            return
        for _ in range(self.keepalives):
            yield KEEPALIVE, None
            await self._pause(delay)
        yield _chunk(reported, {"role": "assistant", "content": ""}), None
        limit = len(text) if behaviour.kind == "ok" else behaviour.after_chars
        sent = 0
        while sent < min(limit, len(text)):
            piece = text[sent : sent + size]
            sent += len(piece)
            yield _chunk(reported, {"content": piece}), sent
            await self._pause(delay)
        if behaviour.kind == "ok":
            yield _chunk(reported, {}, finish_reason="stop"), None
            yield b"data: [DONE]\n\n", None
            await self._pause(behaviour.seconds)
        elif behaviour.kind == "midstream_error":
            error = {"message": "Provider returned error", "code": behaviour.code}
            yield _event({"error": error}), None
            yield b"data: [DONE]\n\n", None
        elif behaviour.kind == "finish_error":
            yield _chunk(reported, {}, finish_reason="error"), None
            yield b"data: [DONE]\n\n", None
        elif behaviour.kind == "cut":
            raise _Abort("deliberate cut")
        else:  # hang after some text
            await self._pause(behaviour.seconds)

    async def _tool_call_events(self, reported: str | None, behaviour: Behaviour, size: int,
                                delay: float) -> AsyncIterator[tuple[bytes, int | None]]:
        for _ in range(self.keepalives):
            yield KEEPALIVE, None
            await self._pause(delay)
        yield _chunk(reported, {"role": "assistant", "content": None}), None
        text, sent = behaviour.text or "", 0
        while sent < len(text):
            piece = text[sent : sent + size]
            sent += len(piece)
            yield _chunk(reported, {"content": piece}), sent
            await self._pause(delay)
        for index, (call_id, name, arguments) in enumerate(behaviour.calls):
            yield _chunk(reported, {"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                    "function": {"name": name, "arguments": ""}}]}), None
            step = max(1, -(-len(arguments) // behaviour.pieces))
            for start in range(0, len(arguments), step):
                yield _chunk(reported, {"tool_calls": [{"index": index, "function": {
                    "arguments": arguments[start : start + step]}}]}), None
                await self._pause(delay)
        yield _chunk(reported, {}, finish_reason="tool_calls"), None
        yield b"data: [DONE]\n\n", None

    async def _writes(self, events: AsyncIterator[tuple[bytes, int | None]]) -> AsyncIterator[bytes]:
        """One write per event, or several if `split_writes`; logs when text chunks went out."""
        split = self.split_writes
        async for data, sent in events:
            if split:
                for part in _split(data):
                    yield part
                    # a pause so each part is its own TCP segment and client read
                    await asyncio.sleep(0.002)
            else:
                yield data
            if sent is not None:
                self.send_log.append((time.time(), sent))

    async def _pause(self, seconds: float) -> None:
        """Sleep, but abort the response at once if the server is stopping."""
        assert self._stopping is not None
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            try:
                await asyncio.wait_for(self._stopping.wait(), seconds)
            except TimeoutError:
                return
        if self._stopping.is_set():
            raise _Abort("fake server stopping")


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def _chunk(model: str | None, delta: dict[str, Any], *, finish_reason: str | None = None) -> bytes:
    payload: dict[str, Any] = {
        "id": "gen-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if model is not None:
        payload["model"] = model
    return _event(payload)


def _split(data: bytes) -> list[bytes]:
    """Cut an event inside `data:`, inside a UTF-8 character if any, and between its newlines."""
    multibyte = next((i for i, byte in enumerate(data) if byte >= 0xC0), None)
    middle = multibyte + 1 if multibyte is not None else len(data) // 2
    cuts = sorted({2, middle, len(data) - 1})
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True) if a < b]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenRouter streaming API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--chars", type=int, default=4000, help="answer length in characters")
    parser.add_argument("--chunk", type=int, default=4, help="characters per SSE chunk")
    parser.add_argument("--delay", type=float, default=0.005, help="seconds between chunks")
    parser.add_argument("--split-writes", action="store_true", help="split each event across TCP writes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    fake = FakeOpenRouter(
        text=make_text(args.chars),
        chunk_size=args.chunk,
        delay=args.delay,
        split_writes=args.split_writes,
        port=args.port,
    )
    with fake:
        print(f"Fake OpenRouter listening on {fake.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

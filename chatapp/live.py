"""GET /api/chats/<chat_id>/live: the answer being written, as server-sent events of new text only.

Streaming through Reflex state would re-send the whole growing answer on every update; this
route sends each piece of text once, in at most ~12 events a second (the first at once),
gzip-compressed as it goes, and any tab of the owner can follow it. Event ids are text
offsets, so a browser that reconnects (EventSource sends `Last-Event-ID`) resumes exactly
where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import zlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from chatapp.runtime import services
from chatapp.services.answer import Answer
from chatapp.services.store import StoreUnavailable

FLUSH_SECONDS = 0.085
EARLY_WAIT = 10.0  # how long a stream opened with the question waits for its answer to start
NO_STORE = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _offset(request: Request) -> int:
    raw = request.headers.get("last-event-id") or request.query_params.get("from") or "0"
    return int(raw) if raw.isdigit() else 0


def _done(answer: Answer | None) -> str:
    error = answer.error if answer else ""
    return f"event: done\ndata: {json.dumps({'error': error})}\n\n"


async def _events(answer: Answer | None, sent: int) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    if answer is None:
        yield _done(None)
        return
    flushed_at = 0.0
    while True:
        await answer.wait_for_more(sent)
        wait = FLUSH_SECONDS - (time.monotonic() - flushed_at)
        if wait > 0:  # gather more text until the next update is due, unless the stream ends
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answer.ended.wait(), wait)
        text = answer.text
        if len(text) > sent:
            yield f"id: {len(text)}\ndata: {json.dumps(text[sent:])}\n\n"
            sent, flushed_at = len(text), time.monotonic()
        elif answer.ended.is_set():
            await answer.saved.wait()
            yield _done(answer)
            return


async def _gzip(events: AsyncIterator[str]) -> AsyncIterator[bytes]:
    """One gzip stream, flushed after every event so each arrives (and shows) at once."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    async for event in events:
        yield compressor.compress(event.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
    yield compressor.flush()


def _stream(request: Request, answer: Answer | None) -> Response:
    events = _events(answer, _offset(request))
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return StreamingResponse(events, media_type="text/event-stream", headers=NO_STORE)
    return StreamingResponse(_gzip(events), media_type="text/event-stream",
                             headers={**NO_STORE, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


async def _user_id(request: Request) -> str | Response:
    """The session's user id, or the response that refuses the request."""
    app = services()
    try:
        user = await app.accounts.authenticate(request.cookies.get(app.settings.cookie_name))
    except StoreUnavailable:
        return Response("The service is having trouble; try again shortly.", status_code=503,
                        headers={"Retry-After": "5"})
    return user.id if user else Response("Log in to follow this conversation.", status_code=401)


async def live_answer(request: Request) -> Response:
    """The answer being written in a thread (a reload, a second tab, a reconnect)."""
    owner = await _user_id(request)
    if isinstance(owner, Response):
        return owner
    return _stream(request, await services().chat.running(owner, request.path_params["chat_id"]))


async def live_answer_to(request: Request) -> Response:
    """GET /api/live/<client_id>: opened by the page as it sends, so the stream is ready before
    the first words exist (in a new thread the page cannot know the thread's address yet)."""
    owner = await _user_id(request)
    if isinstance(owner, Response):
        return owner
    answer = await services().chat.answer_for(owner, request.path_params["client_id"], EARLY_WAIT)
    return _stream(request, answer)  # none: refused, or answered before we asked (state has it)

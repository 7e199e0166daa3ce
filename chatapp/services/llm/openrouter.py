"""OpenRouter provider: streams answers from free models, rotating between them.

Free models are rate limited and flaky, so each request walks the configured models
in round-robin order and falls back to the next one until a model starts answering.
Once text has reached the user, a failure is reported instead of silently truncated.

The total budget bounds the wait for a first token (every attempt and Retry-After pause);
once text flows only the read timeout applies, so long healthy answers are never cut.

Tool calling: a question that offers tools sends them (OpenAI-style `tools`, every request, with
`tool_choice` "none" once the answer may not call any more); streamed `tool_calls` fragments
(index, id, function name, argument pieces) are put together and yielded as `ToolCall`s when
the response ends. The continuation is a new request with the same messages plus, per step, the
assistant's message carrying its `tool_calls` and one `role: "tool"` message per result. A model
that answers 404 to a request with tools (no tool support) is remembered and asked without them,
or skipped once the conversation holds tool results.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
from httpx_sse import EventSource, aconnect_sse

from chatapp.services.prompts import build_messages

from .base import ChatTurn, Delta, LLMStreamError, LLMUnavailable, Question, Tool, ToolCall, paced

log = logging.getLogger(__name__)

BUSY = "The assistant is busy, please retry in a moment."
MISCONFIGURED = "The assistant is not configured correctly. Please contact the site administrator."
INTERRUPTED = "The answer was interrupted. Please try again."

_FATAL_STATUSES = frozenset({401, 403})  # bad or revoked key: every model would fail the same way


class _ModelFailed(Exception):
    """A model failed before its first token; `retry_after`: seconds the server asked us to wait."""

    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Broken(Exception):
    """The event stream reported an error or ended without `[DONE]`."""


def make_client(
    *, connect_timeout: float = 10, read_timeout: float = 30, max_connections: int = 100
) -> httpx.AsyncClient:
    """Build the one pooled client the app shares, so answers reuse warm TLS connections."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=20, keepalive_expiry=30
        ),
    )


class OpenRouterProvider:
    """Streams chat completions from OpenRouter with per-request model fallback."""

    name = "openrouter"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        models: Sequence[str],
        client: httpx.AsyncClient,
        connect_timeout: float = 10,
        read_timeout: float = 30,
        total_budget: float = 60,
        referer: str = "http://localhost:3000",
        title: str = "Helpdesk",
        max_retry_after: float = 10,
    ) -> None:
        if not models:
            raise ValueError("OpenRouterProvider needs at least one model")
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._models = tuple(models)
        self._client = client
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "HTTP-Referer": referer,
            "X-Title": title,
        }
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=connect_timeout, pool=connect_timeout
        )
        self._total_budget = total_budget
        self._max_retry_after = max_retry_after
        self._requests = itertools.count()  # no await between read and increment: asyncio-safe
        self._no_tools: set[str] = set()  # models that refused a request with tools (HTTP 404)

    def answer(self, question: Question) -> AsyncIterator[Delta | ToolCall]:
        """The answer to a customer's question, from the passages retrieved for it (and, with
        tools, the calls it made so far and their results); provider reads are paced so several
        chunks share one socket read (see `paced`)."""
        messages: list[dict[str, Any]] = [
            dict(turn) for turn in build_messages(question.text, question.history, question.retrieval)]
        for step in question.steps:
            messages.append({"role": "assistant", "content": step.text or None, "tool_calls": [
                {"id": r.call.id, "type": "function",
                 "function": {"name": r.call.name, "arguments": r.call.arguments or "{}"}}
                for r in step.results]})
            messages.extend({"role": "tool", "tool_call_id": r.call.id, "content": r.content}
                            for r in step.results)
        return paced(self.stream_reply(messages, tools=question.tools,
                                       may_call=question.may_call))

    async def stream_reply(self, messages: Sequence[ChatTurn | Mapping[str, Any]], *,
                           tools: Sequence[Tool] = (), may_call: bool = True
                           ) -> AsyncIterator[Delta | ToolCall]:
        """Yield the answer of the first model that starts one; see the module docstring."""
        attempt, deltas, first = await self._start(messages, tools, may_call)
        async with attempt:
            yield first
            try:
                async for delta in deltas:
                    yield delta
            except (_Broken, httpx.RequestError) as exc:
                log.warning("OpenRouter model %s broke off mid-answer (%s)", first.model, _reason(exc))
                raise LLMStreamError(INTERRUPTED) from exc

    def _rotation(self) -> tuple[str, ...]:
        """This request's model order: round robin so load spreads over the free models."""
        start = next(self._requests) % len(self._models)
        return self._models[start:] + self._models[:start]

    async def _start(
        self, messages: Sequence[ChatTurn | Mapping[str, Any]], tools: Sequence[Tool] = (),
        may_call: bool = True,
    ) -> tuple[AsyncExitStack, AsyncIterator[Delta | ToolCall], Delta | ToolCall]:
        """Try each model once until one yields a first delta; return its open stream."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total_budget
        order = self._rotation()
        plain: dict[str, Any] = {"messages": [_wire(m) for m in messages], "stream": True}
        with_tools = plain
        if tools:
            with_tools = {**plain, "tools": [_tool_spec(tool) for tool in tools],
                          "tool_choice": "auto" if may_call else "none"}
        has_results = any(m.get("role") == "tool" for m in plain["messages"])
        for position, model in enumerate(order, start=1):
            if loop.time() >= deadline:
                break
            payload = with_tools
            if tools and model in self._no_tools:
                if has_results:
                    continue  # it could not read the tool results it would be given
                payload = plain
            attempt = AsyncExitStack()
            try:
                deltas, first = await self._try_model(model, payload, deadline, attempt)
                return attempt, deltas, first
            except _ModelFailed as failure:
                await attempt.aclose()
                log.warning("OpenRouter model %s failed before answering (%s)", model, failure)
                wait = min(failure.retry_after, self._max_retry_after)
                if position == len(order) or loop.time() + wait >= deadline:
                    break  # nothing left to try, or waiting would only end in the same answer
                await asyncio.sleep(wait)
            except BaseException:
                await attempt.aclose()
                raise
        log.warning("OpenRouter: no model could answer (%d configured)", len(order))
        raise LLMUnavailable(BUSY)

    async def _try_model(
        self, model: str, payload: dict[str, Any], deadline: float, attempt: AsyncExitStack
    ) -> tuple[AsyncIterator[Delta | ToolCall], Delta | ToolCall]:
        """Open one model's stream and read up to its first delta, within the request budget."""
        budget = asyncio.timeout_at(deadline)
        try:
            async with budget:
                source = await attempt.enter_async_context(
                    aconnect_sse(
                        self._client,
                        "POST",
                        self._url,
                        json={"model": model, **payload},
                        headers=dict(self._headers),
                        timeout=self._timeout,
                    )
                )
                status = source.response.status_code
                if status in _FATAL_STATUSES:
                    log.error("OpenRouter refused the request (HTTP %d); check the API key", status)
                    raise LLMUnavailable(MISCONFIGURED)
                if status == 404 and "tools" in payload:
                    self._no_tools.add(model)
                    raise _ModelFailed("HTTP 404 with tools: no tool support")
                if status != 200:
                    raise _ModelFailed(f"HTTP {status}", _retry_after(source.response.headers))
                deltas = _deltas(source, model)
                attempt.push_async_callback(deltas.aclose)
                first = await anext(deltas, None)
        except TimeoutError:
            if budget.expired():
                log.warning("OpenRouter: time budget spent while waiting for model %s", model)
                raise LLMUnavailable(BUSY) from None
            raise _ModelFailed("timeout") from None
        except (_Broken, httpx.RequestError) as exc:
            raise _ModelFailed(_reason(exc)) from exc
        if first is None:
            raise _ModelFailed("empty answer")
        return deltas, first


async def _deltas(source: EventSource, model: str) -> AsyncIterator[Delta | ToolCall]:
    """Turn OpenRouter SSE chunks into non-empty deltas, and the tool calls streamed in pieces
    into whole `ToolCall`s at the end; raise `_Broken` on any failure sign."""
    finished = done = False
    calls: dict[int, dict[str, str]] = {}
    reported = model
    async for event in source.aiter_sse():  # keep-alive comment lines never surface as events
        if event.data == "[DONE]":
            done = True
            break
        if not event.data:
            continue
        chunk = _parse_chunk(event.data)
        if "error" in chunk:
            raise _Broken(f"error event, code {_error_code(chunk['error'])}")
        choice = _first_choice(chunk)
        reason = choice.get("finish_reason")
        if reason == "error":
            raise _Broken("finish_reason error")
        finished = finished or reason is not None
        reported = chunk.get("model") or model
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            continue
        fragments = delta.get("tool_calls")
        if isinstance(fragments, list):
            _gather(calls, fragments)
        text = delta.get("content")
        if isinstance(text, str) and text:
            yield Delta(text, reported)
    if not (done or finished):
        raise _Broken("stream ended without [DONE]")
    for index in sorted(calls):
        call = calls[index]
        if call["name"]:
            yield ToolCall(call["id"] or f"call_{index}", call["name"], call["arguments"], reported)


def _gather(calls: dict[int, dict[str, str]], fragments: list[Any]) -> None:
    """Add streamed tool-call fragments: the first of a call names its index, id and function,
    the next ones carry pieces of its JSON arguments."""
    for fragment in fragments:
        if not isinstance(fragment, dict):
            continue
        index = fragment.get("index")
        index = index if isinstance(index, int) else len(calls)
        call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        if isinstance(fragment.get("id"), str) and fragment["id"]:
            call["id"] = fragment["id"]
        function = fragment.get("function")
        if not isinstance(function, dict):
            continue
        if isinstance(function.get("name"), str) and function["name"] and not call["name"]:
            call["name"] = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some providers send the whole object at once
            call["arguments"] = json.dumps(arguments)
        elif isinstance(arguments, str):
            call["arguments"] += arguments


def _wire(message: Mapping[str, Any]) -> dict[str, Any]:
    """One message as sent: its role and content, and a tool call's or result's own fields."""
    out = {"role": message["role"], "content": message.get("content")}
    for key in ("tool_calls", "tool_call_id"):
        if key in message:
            out[key] = message[key]
    return out


def _tool_spec(tool: Tool) -> dict[str, Any]:
    return {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                             "parameters": dict(tool.parameters)}}


def _parse_chunk(data: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError:
        raise _Broken("malformed chunk") from None
    if not isinstance(chunk, dict):
        raise _Broken("malformed chunk")
    return chunk


def _first_choice(chunk: dict[str, Any]) -> dict[str, Any]:
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}  # usage-only or provider-specific chunks carry no text


def _error_code(error: Any) -> Any:
    return error.get("code") if isinstance(error, dict) else None


def _reason(exc: BaseException) -> str:
    """A log-safe description: exception class or our own reason, never request content."""
    return str(exc) if isinstance(exc, _Broken) else type(exc).__name__


def _retry_after(headers: Mapping[str, str]) -> float:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP date); 0 if absent/bad."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return seconds if seconds > 0 else 0.0

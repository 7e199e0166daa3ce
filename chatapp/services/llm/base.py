"""The one interface every answer source implements (OpenRouter, the built-in responder, the dev
fake), so the assistant never cares who is answering.

A provider streams `Delta`s. Offered `tools` (the assistant's actions), it may also end a round
with `ToolCall`s; it never runs them. The assistant (chatapp/actions) runs them and asks again
with the same question plus `steps` (the text written so far, each call and its result), and
the provider continues the answer from there: providers only translate calls in and results
out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypedDict

if TYPE_CHECKING:
    from chatapp.services.knowledge import Retrieval


class ChatTurn(TypedDict):
    """One OpenAI-style message: role is "system", "user" or "assistant"."""

    role: str
    content: str


class Delta(NamedTuple):
    """A piece of answer text and the model that wrote it (stored with the message)."""

    text: str
    model: str


class LLMError(Exception):
    """Generation failed; `str(error)` is a plain sentence safe to show the user."""


class LLMUnavailable(LLMError):
    """No model could start an answer (rate limits, errors, timeouts on every model)."""


class LLMStreamError(LLMError):
    """An answer started but broke off (mid-stream error event or dropped connection)."""


@dataclass(frozen=True)
class Tool:
    """An action the answer may call, as a model is told of it (an OpenAI-style function).

    `offer` (a regular expression) and `title` are for the built-in responder, which has no
    model to decide: it offers the action when the question matches `offer`, filling in the
    arguments whose JSON-schema `pattern` it finds in the question."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(hash=False)  # a JSON schema of type "object"
    title: str = ""
    offer: str = ""


@dataclass(frozen=True)
class ToolCall:
    """The model asks for an action: its call id, the action's name and its arguments as the
    model wrote them (JSON text, checked by the registry, never trusted)."""

    id: str
    name: str
    arguments: str
    model: str = ""


@dataclass(frozen=True)
class ToolResult:
    """What came of a call. `content` is what the model reads back (JSON text); `status` is the
    card's (done, failed, proposed, cancelled); `summary` is one plain sentence for the customer
    (what the built-in responder writes after the call)."""

    call: ToolCall
    content: str
    status: str
    summary: str = ""


@dataclass(frozen=True)
class Step:
    """One round of an answer that ended in calls: the text it wrote first, and each call with
    its result, in order."""

    text: str
    results: tuple[ToolResult, ...]


@dataclass(frozen=True)
class Question:
    """What an answer is written for: the customer's question, the turns before it (oldest
    first) and the help-centre passages retrieved for it; with actions, the `tools` it may call,
    the `steps` it has taken so far, and whether it may still call (`may_call`: False once the
    answer used its calls, so the provider must finish in words)."""

    text: str
    history: Sequence[ChatTurn]
    retrieval: Retrieval
    tools: Sequence[Tool] = ()
    steps: Sequence[Step] = ()
    may_call: bool = True


class Provider(Protocol):
    """Streams an answer to a question: deltas, and (only when offered tools) tool calls."""

    name: str

    def answer(self, question: Question) -> AsyncIterator[Delta | ToolCall]: ...


async def paced(deltas: AsyncIterator[Delta | ToolCall], pause: float = 0.005
                ) -> AsyncIterator[Delta | ToolCall]:
    """Pass deltas through, pausing `pause` seconds after each one that had to wait for the network.

    Providers send many tiny chunks (one every few ms); reading each with its own socket
    read costs most of a stream's CPU. Pausing lets the next chunks arrive together, so one
    read (and one parse pass) serves several. Chunks already buffered pass without a pause,
    so this never falls behind; the first chunk passes at once and the end of the stream (found
    only after the last chunk's pause) is delayed by at most `pause`. The default is no longer
    than a provider's usual gap between chunks, so the end shows the moment it arrives: 40 ms
    cost ~0.03 s less CPU per answer but held the end of every answer for up to 40 ms. A tool
    call is never followed by a pause: the action it asks for is waiting.
    """
    async with contextlib.aclosing(deltas):
        waited_since = time.monotonic()
        async for delta in deltas:
            fresh_read = time.monotonic() - waited_since > 0.002
            yield delta
            if fresh_read and isinstance(delta, Delta):
                await asyncio.sleep(pause)
            waited_since = time.monotonic()

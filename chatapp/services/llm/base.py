"""The one interface every answer source implements (OpenRouter, the built-in responder), so
the assistant never cares who is answering."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypedDict

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
class Question:
    """What an answer is written for: the customer's question, the turns before it (oldest
    first) and the help-centre passages retrieved for it."""

    text: str
    history: Sequence[ChatTurn]
    retrieval: Retrieval


class Provider(Protocol):
    """Streams an answer to a question as an async iterator of deltas."""

    name: str

    def answer(self, question: Question) -> AsyncIterator[Delta]: ...


async def paced(deltas: AsyncIterator[Delta], pause: float = 0.04) -> AsyncIterator[Delta]:
    """Pass deltas through, pausing `pause` seconds after each one that had to wait for the network.

    Providers send many tiny chunks (one every few ms); reading each with its own socket
    read costs most of a stream's CPU. Pausing lets the next chunks arrive together, so one
    read (and one parse pass) serves several. Chunks already buffered pass without a pause,
    so this never falls behind; the first chunk passes at once and the last is delayed by at
    most `pause`. The default is half the live route's update period (85 ms), so readers see
    no coarser updates: 40 ms cost 0.155 s of CPU per answer where 20 ms cost 0.21 s.
    """
    async with contextlib.aclosing(deltas):
        waited_since = time.monotonic()
        async for delta in deltas:
            fresh_read = time.monotonic() - waited_since > 0.002
            yield delta
            if fresh_read:
                await asyncio.sleep(pause)
            waited_since = time.monotonic()

"""The one interface every answer source implements, so states never care who is answering."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import NamedTuple, Protocol, TypedDict


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


class Provider(Protocol):
    """Streams an answer for a conversation as an async iterator of deltas."""

    name: str

    def stream_reply(self, messages: Sequence[ChatTurn]) -> AsyncIterator[Delta]: ...

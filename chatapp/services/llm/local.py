"""The built-in responder: answers from the knowledge base when no OpenRouter key is configured.

It is a provider like OpenRouter's, streaming its answer in small pieces at a reading pace
through the same path a model's answer takes, so the product behaves the same with or without
a key.

Offered actions (tools), it offers one when the question matches the action's `offer` pattern,
as a model would call it: with the arguments it finds in the question (each parameter's
JSON-schema `pattern`), or none, so that the action's card asks the customer for them. After
the call it says what came of it, in the result's own sentence.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence

from chatapp.services.knowledge import compose_answer
from chatapp.services.llm.base import Delta, Question, Step, Tool, ToolCall

MODEL_NAME = "helpdesk/knowledge-base"
_PIECES = re.compile(r"\S+\s*")


def matching_call(question: Question, call_id: str = "offer-1", model: str = MODEL_NAME) -> ToolCall | None:
    """The first offered tool the question matches (its `offer` pattern), called with the
    arguments found in the question; None when none matches (or no more calls are allowed)."""
    if not question.tools or not question.may_call or question.steps:
        return None
    for tool in question.tools:
        if tool.offer and re.search(tool.offer, question.text, re.IGNORECASE):
            return ToolCall(call_id, tool.name, json.dumps(found_arguments(tool, question.text)), model)
    return None


def found_arguments(tool: Tool, text: str) -> dict[str, str]:
    """The arguments whose schema `pattern` (without its anchors) occurs in `text`."""
    found: dict[str, str] = {}
    for name, spec in tool.parameters.get("properties", {}).items():
        pattern = spec.get("pattern") if isinstance(spec, dict) else None
        if not pattern:
            continue
        bare = pattern.removeprefix("^").removesuffix("$")
        try:
            match = re.search(rf"(?<![\w-])(?:{bare})(?![\w-])", text, re.IGNORECASE)
        except re.error:
            continue
        if match:
            found[name] = match.group(0)
    return found


def after_calls(steps: Sequence[Step]) -> str:
    """What to say once the calls are made: each result's own sentence."""
    sentences = [result.summary.strip() for result in steps[-1].results if result.summary.strip()]
    return " ".join(sentences) or "Done."


class LocalResponder:
    name = "local"

    def __init__(self, words_per_piece: int = 3, pause: float = 0.02) -> None:
        self.words_per_piece = words_per_piece
        self.pause = pause

    async def stream_text(self, text: str) -> AsyncIterator[Delta]:
        words = _PIECES.findall(text)
        for start in range(0, len(words), self.words_per_piece):
            yield Delta("".join(words[start : start + self.words_per_piece]), MODEL_NAME)
            await asyncio.sleep(self.pause)

    def answer(self, question: Question) -> AsyncIterator[Delta | ToolCall]:
        if question.steps:
            return self.stream_text(after_calls(question.steps))
        call = matching_call(question)
        if call is not None:
            return _one(call)
        return self.stream_text(compose_answer(question.text, question.retrieval))


async def _one(call: ToolCall) -> AsyncIterator[ToolCall]:
    yield call

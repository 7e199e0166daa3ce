"""A local fake model for development (FAKE_LLM=1): no key, no network, but a model's behaviour.

It streams like a model (a few characters every 15 ms, a short wait before the first), answers
from the knowledge base (the built-in responder's answer, so questions get sensible replies),
and calls actions as a model would: offered tools, a question one of them fits (the action's
`offer` pattern) gets a short lead-in and a tool call, with the arguments found in the question
or none (then the card asks the customer), and after the results a sentence written from the
JSON the model reads back (not from the customer-facing summary the built-in responder uses).

A few words in a question make it misbehave, to try the page's handling of it:

    fake:slow     streams ten times slower
    fake:break    breaks off mid-answer (an interrupted answer, with Retry)
    fake:busy     fails before the first word (the assistant is busy)
    fake:tool     calls the first offered action whatever the question says
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

from chatapp.services.knowledge import compose_answer
from chatapp.services.llm.base import (
    Delta,
    LLMStreamError,
    LLMUnavailable,
    Question,
    Step,
    ToolCall,
)
from chatapp.services.llm.local import found_arguments, matching_call

MODEL_NAME = "fake/helpdesk-dev"


class FakeModel:
    name = "fake"

    def __init__(self, chars_per_chunk: int = 6, delay: float = 0.015, first_delay: float = 0.25,
                 model: str = MODEL_NAME) -> None:
        self.chars_per_chunk = chars_per_chunk
        self.delay = delay
        self.first_delay = first_delay
        self.model = model
        self._calls = 0

    def answer(self, question: Question) -> AsyncIterator[Delta | ToolCall]:
        return self._answer(question)

    async def _answer(self, question: Question) -> AsyncIterator[Delta | ToolCall]:
        words = question.text.lower()
        slow = 10 if "fake:slow" in words else 1
        await asyncio.sleep(self.first_delay * slow)
        if "fake:busy" in words:
            raise LLMUnavailable("The assistant is busy, please retry in a moment.")
        if question.steps:
            text = self._after(question.steps)
        else:
            call = self._call(question, forced="fake:tool" in words)
            if call is not None:
                async for delta in self._stream("Let me look that up for you.\n\n", slow):
                    yield delta
                yield call
                return
            text = compose_answer(question.text, question.retrieval)
        async for delta in self._stream(text, slow, broken="fake:break" in words):
            yield delta

    def _call(self, question: Question, forced: bool) -> ToolCall | None:
        self._calls += 1
        call_id = f"call_fake_{self._calls}"
        if forced and question.tools and question.may_call and not question.steps:
            tool = question.tools[0]
            return ToolCall(call_id, tool.name, json.dumps(found_arguments(tool, question.text)),
                            self.model)
        return matching_call(question, call_id, self.model)

    def _after(self, steps: Sequence[Step]) -> str:
        """What a model would write from the tool results it read back."""
        sentences = []
        for result in steps[-1].results:
            try:
                told = json.loads(result.content)
            except ValueError:
                told = {}
            status = told.get("status")
            if status == "done":
                sentences.append(told.get("summary") or "Done.")
            elif status == "needs_input":
                sentences.append("I need a little more to go on: please fill in the form above.")
            elif status == "awaiting_confirmation":
                sentences.append("I've prepared that. Press Confirm above if you'd like me to go "
                                 "ahead, or Cancel.")
            else:
                sentences.append(f"That didn't work: {told.get('error') or 'something went wrong.'}")
        return " ".join(sentences) + "\n\nIs there anything else I can help with?"

    async def _stream(self, text: str, slow: int = 1, broken: bool = False) -> AsyncIterator[Delta]:
        cut = len(text) // 2 if broken else len(text)
        for start in range(0, cut, self.chars_per_chunk):
            yield Delta(text[start : start + self.chars_per_chunk], self.model)
            await asyncio.sleep(self.delay * slow)
        if broken:
            raise LLMStreamError("The answer was interrupted. Please try again.")

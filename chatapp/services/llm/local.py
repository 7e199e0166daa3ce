"""The built-in responder: answers from the knowledge base when no OpenRouter key is configured.

It is a provider like OpenRouter's, streaming its answer in small pieces at a reading pace
through the same path a model's answer takes, so the product behaves the same with or without
a key.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from chatapp.services.knowledge import compose_answer
from chatapp.services.llm.base import Delta, Question

MODEL_NAME = "helpdesk/knowledge-base"
_PIECES = re.compile(r"\S+\s*")


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

    def answer(self, question: Question) -> AsyncIterator[Delta]:
        return self.stream_text(compose_answer(question.text, question.retrieval))

"""An answer being written: what readers of any kind (a tab, the live route, the relay) follow."""

from __future__ import annotations

import asyncio

from chatapp.models import Message
from chatapp.services.llm.base import Delta

INTERRUPTED = "The answer was interrupted because the service restarted. Press Retry to ask again."


class Answer:
    """An answer being written by the server, followed by any number of readers.

    Generation belongs to the server, not to a browser tab: readers (the tab that asked, a
    second tab, a reconnecting tab) read `text` as it grows and wait with `wait_for_more`.
    `ended` is set when no more text will come, `saved` once the final message is stored.
    """

    def __init__(self, question_id: str = "", client_id: str = "") -> None:
        self.question_id = question_id
        self.client_id = client_id  # the question's id from the page, which may follow it early
        self.text = ""
        self.model = ""
        self.error = ""
        self.sources: tuple[str, ...] = ()
        self.message: Message | None = None
        self.stop = asyncio.Event()
        self.ended = asyncio.Event()
        self.saved = asyncio.Event()
        self._grew = asyncio.Event()

    def extend(self, delta: Delta) -> None:
        self.text += delta.text
        self.model = delta.model
        self._grew.set()
        self._grew = asyncio.Event()

    async def wait_for_more(self, length: int) -> None:
        """Return once the text is longer than `length` or the stream has ended."""
        if len(self.text) > length or self.ended.is_set():
            return
        grew, ended = asyncio.ensure_future(self._grew.wait()), asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait({grew, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            grew.cancel()
            ended.cancel()

    async def until_saved(self) -> None:
        await self.saved.wait()

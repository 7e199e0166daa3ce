"""One conversation turn: checks, storing the question, retrieving, streaming and storing the answer.

The user's message is stored before any model is called, and the answer is stored once, when
the stream ends, is stopped or fails, so nothing the user wrote is lost to a model failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from pymongo.errors import PyMongoError

from chatapp.models import Message, Thread
from chatapp.services.cache import HistoryCache
from chatapp.services.knowledge import KnowledgeBase, Retrieval, small_talk_reply
from chatapp.services.llm.base import ChatTurn, Delta, LLMError, Provider, paced
from chatapp.services.llm.local import LocalResponder
from chatapp.services.prompts import build_messages
from chatapp.services.ratelimit import RateLimiter, take, wait_phrase
from chatapp.services.threads import Threads

HISTORY_TURNS = 12
BUSY = "The assistant is busy, please retry in a moment."
INTERRUPTED = "The answer was interrupted because the service restarted. Press Retry to ask again."
CLOSING = ("The service is restarting. Your message is kept here and can be sent again in a "
           "moment with Retry.")
STORE_DOWN = ("Your message could not be saved: the service is having trouble reaching its "
              "database. It is kept here; press Retry in a moment.")


class SendRejected(Exception):
    """The message was not stored; `str(error)` tells the user why."""


class ThreadNotFound(Exception):
    """No such thread for this owner (also what another user's thread looks like)."""


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


class Chat:
    def __init__(
        self,
        threads: Threads,
        cache: HistoryCache,
        limiter: RateLimiter,
        knowledge: Callable[[], KnowledgeBase],
        provider: Provider | None,
        local: LocalResponder,
        max_chars: int,
        messages_per_minute: int,
    ) -> None:
        self.threads = threads
        self.cache = cache
        self.limiter = limiter
        self.knowledge = knowledge
        self.provider = provider
        self.local = local
        self.max_chars = max_chars
        self.messages_per_minute = messages_per_minute
        self._running: dict[tuple[str, str], Answer] = {}
        self._queued: dict[tuple[str, str], list[Message]] = {}
        self._by_client: dict[tuple[str, str], Answer] = {}  # (owner, question client id)
        self._arrivals: dict[tuple[str, str], asyncio.Event] = {}
        self.closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def _owned(self, owner: str, chat_id: str) -> Thread:
        thread = await self.threads.get(owner, chat_id)
        if thread is None:
            raise ThreadNotFound(chat_id)
        return thread

    async def thread(self, owner: str, chat_id: str) -> tuple[Thread, list[Message]]:
        return await self._owned(owner, chat_id), await self.cache.history(owner, chat_id)

    async def ask(self, owner: str, chat_id: str | None, text: str, client_id: str
                  ) -> tuple[Thread, Message, bool]:
        """Store the user's message (once per client id); (thread, message, newly stored).

        A replay (a reconnecting tab, a double click, an outbox resend) returns the stored
        message and its thread, and creates nothing.
        """
        try:
            return await self._ask(owner, chat_id, text, client_id)
        except PyMongoError as error:
            raise SendRejected(STORE_DOWN) from error

    async def _ask(self, owner: str, chat_id: str | None, text: str, client_id: str
                   ) -> tuple[Thread, Message, bool]:
        if self.closing:
            raise SendRejected(CLOSING)
        replayed = await self.threads.by_client_id(owner, client_id)
        if replayed is not None:
            return await self._owned(owner, replayed.chat_id), replayed, False
        text = text.strip()
        if not text:
            raise SendRejected("Type a message first.")
        if len(text) > self.max_chars:
            raise SendRejected(
                f"Messages can be at most {self.max_chars:,} characters; "
                f"yours has {len(text):,}. Please shorten it."
            )
        wait = await take(self.limiter, f"ai:{owner}", self.messages_per_minute, 60)
        if wait:
            raise SendRejected(
                f"You've reached the limit of {self.messages_per_minute} messages a minute. "
                f"Please try again {wait_phrase(wait)}."
            )
        if chat_id:
            thread = await self._owned(owner, chat_id)
        else:
            thread = await self.threads.create(owner, text)
        message, created = await self.threads.add_message(
            owner, thread.id, "user", text, client_id=client_id, status="sent")
        if created:
            self.cache.append(message)
        return thread, message, created

    def running(self, owner: str, chat_id: str) -> Answer | None:
        return self._running.get((owner, chat_id))

    def busy(self, owner: str, chat_id: str) -> bool:
        """An answer is being written or waits its turn in this thread."""
        key = (owner, chat_id)
        return key in self._running or bool(self._queued.get(key))

    async def answered(self, question: Message) -> bool:
        """The question has a stored answer, or one being written or queued."""
        key = (question.owner, question.chat_id)
        current = self._running.get(key)
        if current is not None and current.question_id == question.id:
            return True
        if any(q.id == question.id for q in self._queued.get(key, [])):
            return True
        return await self.threads.by_client_id(question.owner, f"{question.client_id}:answer") is not None

    def stop(self, owner: str, chat_id: str) -> None:
        answer = self._running.get((owner, chat_id))
        if answer:
            answer.stop.set()

    def start(self, question: Message) -> None:
        """Answer a stored question in a server-owned task, after any answer already running in
        its thread (questions sent in a row, e.g. from an outbox, are answered in order)."""
        key = (question.owner, question.chat_id)
        if key in self._running:
            self._queued.setdefault(key, []).append(question)
            return
        answer = self._running[key] = Answer(question.id, question.client_id)
        by_client = (question.owner, question.client_id)
        self._by_client[by_client] = answer
        arrived = self._arrivals.pop(by_client, None)
        if arrived is not None:
            arrived.set()
        task = asyncio.create_task(self._generate(question, answer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def answer_for(self, owner: str, client_id: str) -> Answer | None:
        """The answer to the question the page sent with `client_id`, once it starts (the page
        asks for it as it sends, before it knows the thread or the message). Callers bound the
        wait: an answer that ended before it was asked for is not found."""
        key = (owner, client_id)
        if key not in self._by_client:
            arrived = self._arrivals.setdefault(key, asyncio.Event())
            try:
                await arrived.wait()
            finally:
                if not arrived.is_set():
                    self._arrivals.pop(key, None)
        return self._by_client.get(key)

    async def complete(self, question: Message) -> Answer:
        """Answer a stored question (in an idle thread) and wait until the answer is stored."""
        self.start(question)
        answer = self._running[(question.owner, question.chat_id)]
        await answer.saved.wait()
        return answer

    async def drain(self, grace: float) -> None:
        """On shutdown: take no new questions, let answers finish for `grace` seconds, then stop
        the rest, which are stored as interrupted with what they had written."""
        self.closing = True
        for queued in self._queued.values():
            queued.clear()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)

    async def _generate(self, question: Message, answer: Answer) -> None:
        """Stream, then store the answer once: complete, stopped, or failed with partial text.

        When no text came at all only `error` is set and nothing is stored.
        """
        key = (question.owner, question.chat_id)
        try:
            history = [m for m in await self.cache.history(*key) if m.id != question.id]
            async for delta in self._deltas(question.content, history, answer):
                if answer.stop.is_set():
                    break
                answer.extend(delta)
        except LLMError as error:
            answer.error = str(error)
        except asyncio.CancelledError:  # shutting down: keep what was written, marked failed
            answer.error = INTERRUPTED
        except Exception:  # noqa: BLE001 - never show a stack trace; keep what was written
            answer.error = BUSY
        answer.ended.set()
        try:
            if answer.text:
                status = ("stopped" if answer.stop.is_set()
                          else "failed" if answer.error else "complete")
                message, created = await self.threads.add_message(
                    question.owner, question.chat_id, "assistant", answer.text,
                    client_id=f"{question.client_id}:answer", status=status, model=answer.model,
                    sources=answer.sources,
                )
                if created:
                    self.cache.append(message)
                answer.message = message
            elif not answer.error and not answer.stop.is_set():
                answer.error = BUSY
        except Exception:  # noqa: BLE001 - the database failed: say so, the question is kept
            answer.error = BUSY
        finally:
            self._running.pop(key, None)
            self._by_client.pop((question.owner, question.client_id), None)
            queued = self._queued.get(key)
            if queued:
                self.start(queued.pop(0))
            else:
                self._queued.pop(key, None)
            answer.saved.set()

    def _deltas(self, question: str, history: list[Message], answer: Answer
                ) -> AsyncIterator[Delta]:
        greeting = small_talk_reply(question)
        if greeting:
            return self.local.stream_text(greeting)
        recent = [m.content for m in history if m.role == "user"][-2:]
        retrieval: Retrieval = self.knowledge().search(question, recent)
        if retrieval.covered:
            answer.sources = tuple(hit.passage.id for hit in retrieval.hits)
        if self.provider is None:
            return self.local.stream_answer(question, retrieval)
        turns: list[ChatTurn] = [{"role": m.role, "content": m.content}
                                 for m in history[-HISTORY_TURNS:] if m.content]
        return paced(self.provider.stream_reply(build_messages(question, turns, retrieval)))

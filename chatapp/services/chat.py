"""One conversation turn: checks, storing the question, retrieving, streaming and storing the answer.

The user's message is stored before any model is called, and the answer is stored once, when
the stream ends, is stopped or fails, so nothing the user wrote is lost to a model failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from pymongo.errors import PyMongoError

from chatapp.models import Message, Thread
from chatapp.services.answer import INTERRUPTED, Answer
from chatapp.services.cache import HistoryCache
from chatapp.services.knowledge import KnowledgeBase, Retrieval, small_talk_reply
from chatapp.services.llm.base import ChatTurn, Delta, LLMError, Provider, paced
from chatapp.services.llm.local import LocalResponder
from chatapp.services.prompts import build_messages
from chatapp.services.ratelimit import RateLimiter, take, wait_phrase
from chatapp.services.relay import MARK_SECONDS, AnswerRelay
from chatapp.services.threads import Threads

log = logging.getLogger(__name__)
HISTORY_TURNS = 12
BUSY = "The assistant is busy, please retry in a moment."
CLOSING = ("The service is restarting. Your message is kept here and can be sent again in a "
           "moment with Retry.")
STORE_DOWN = ("Your message could not be saved: the service is having trouble reaching its "
              "database. It is kept here; press Retry in a moment.")


class SendRejected(Exception):
    """The message was not stored; `str(error)` tells the user why."""


class ThreadNotFound(Exception):
    """No such thread for this owner (also what another user's thread looks like)."""


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
        relay: AnswerRelay | None = None,
    ) -> None:
        self.threads = threads
        self.cache = cache
        self.limiter = limiter
        self.knowledge = knowledge
        self.provider = provider
        self.local = local
        self.max_chars = max_chars
        self.messages_per_minute = messages_per_minute
        self.relay = relay  # several workers: answers are followed and stopped through Redis
        self._running: dict[tuple[str, str], Answer] = {}
        self._queued: dict[tuple[str, str], list[Message]] = {}
        self._by_client: dict[tuple[str, str], Answer] = {}  # (owner, question client id)
        self._arrivals: dict[tuple[str, str], asyncio.Event] = {}
        self._relayed: set[tuple[str, str]] = set()  # (owner, client id) this worker publishes
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
            await self.cache.append(message)
        return thread, message, created

    async def running(self, owner: str, chat_id: str) -> Answer | None:
        """The answer being written in the thread, by this worker or (with Redis) any other."""
        local = self._running.get((owner, chat_id))
        if local is not None or self.relay is None:
            return local
        client_id = await self._written_elsewhere(owner, chat_id)
        return self.relay.follow(owner, client_id, MARK_SECONDS) if client_id else None

    async def _written_elsewhere(self, owner: str, chat_id: str) -> str | None:
        """The client id of the answer another worker is writing in the thread (not one this
        worker wrote, whose relay may name it for a moment after it was stored)."""
        client_id = await self.relay.running_client_id(owner, chat_id) if self.relay else None
        return client_id if client_id and (owner, client_id) not in self._relayed else None

    async def busy(self, owner: str, chat_id: str) -> bool:
        """An answer is being written or waits its turn in this thread."""
        key = (owner, chat_id)
        if key in self._running or self._queued.get(key):
            return True
        return await self._written_elsewhere(owner, chat_id) is not None

    async def answered(self, question: Message) -> bool:
        """The question has a stored answer, or one being written or queued."""
        key = (question.owner, question.chat_id)
        if self._in_hand(question):
            return True
        if await self._written_elsewhere(*key) == question.client_id:
            return True
        return await self.threads.answer_to(question.owner, question.client_id) is not None

    def _in_hand(self, question: Message) -> bool:
        """This worker is answering the question, or has it waiting its turn."""
        key = (question.owner, question.chat_id)
        current = self._running.get(key)
        return (current is not None and current.question_id == question.id) or any(
            q.id == question.id for q in self._queued.get(key, []))

    async def stop(self, owner: str, chat_id: str) -> None:
        answer = self._running.get((owner, chat_id))
        if answer:
            answer.stop.set()
        elif self.relay is not None:
            await self.relay.stop(owner, chat_id)

    async def start(self, question: Message) -> None:
        """Answer a stored question in a server-owned task, after any answer already running in
        its thread (questions sent in a row, e.g. from an outbox, are answered in order). A
        question already in hand is not answered twice (two tabs can send the same one)."""
        key = (question.owner, question.chat_id)
        if self._in_hand(question):
            return
        if key in self._running:
            self._queued.setdefault(key, []).append(question)
            return
        answer = self._running[key] = Answer(question.id, question.client_id)
        log.info("answer started", extra={"chat_id": question.chat_id})
        by_client = (question.owner, question.client_id)
        self._by_client[by_client] = answer
        arrived = self._arrivals.pop(by_client, None)
        if arrived is not None:
            arrived.set()
        if self.relay is not None:  # named in Redis before any page can ask another worker for it
            await self.relay.announce(question.owner, question.chat_id, question.client_id)
        self._spawn(self._generate(question, answer))
        if self.relay is not None:
            relayed = (question.owner, question.client_id)
            self._relayed.add(relayed)
            self._spawn(self.relay.publish(question.owner, question.chat_id, answer)
                        ).add_done_callback(lambda _: self._relayed.discard(relayed))

    def _spawn(self, work) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def answer_for(self, owner: str, client_id: str, wait: float) -> Answer | None:
        """The answer to the question the page sent with `client_id`, once it starts within
        `wait` seconds (the page asks for it as it sends, before it knows the thread or the
        message). An answer that ended before it was asked for is not found. With Redis, the
        answer is read from whichever worker writes it."""
        key = (owner, client_id)
        if key not in self._by_client and self.relay is not None:
            return self.relay.follow(owner, client_id, wait)
        if key not in self._by_client:
            arrived = self._arrivals.setdefault(key, asyncio.Event())
            try:
                async with asyncio.timeout(wait):
                    await arrived.wait()
            except TimeoutError:  # refused, or answered before it was asked for
                return None
            finally:
                if not arrived.is_set():
                    self._arrivals.pop(key, None)
        return self._by_client.get(key)

    async def complete(self, question: Message) -> Answer:
        """Answer a stored question (in an idle thread) and wait until the answer is stored."""
        await self.start(question)
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
                    await self.cache.append(message)
                answer.message = message
            elif not answer.error and not answer.stop.is_set():
                answer.error = BUSY
        except Exception:  # noqa: BLE001 - the database failed: say so, the question is kept
            answer.error = BUSY
        finally:
            self._running.pop(key, None)
            self._by_client.pop((question.owner, question.client_id), None)
            try:
                queued = self._queued.get(key)
                if queued:
                    await self.start(queued.pop(0))
                else:
                    self._queued.pop(key, None)
            finally:  # readers are released even if shutdown cancels the next start
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

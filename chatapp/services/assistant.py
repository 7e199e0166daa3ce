"""The assistant writing answers: one server-owned task per answer, whatever happens to the tabs.

An answer is a message from its first moment: it is stored as "writing" before the model is
asked (its unique client id is the claim, so two tabs or two workers asking for the same answer
get one), grows in the conversation's event stream as text arrives (the first piece at once,
then at most every `FLUSH_SECONDS`, the last piece the moment the stream ends), is kept in the
database as it grows (at most every second), and is stored finished, stopped or failed at the
end. A process killed mid-answer loses at most a second of text: readers see the kept text,
marked interrupted, once the writer stops renewing its lease.

With actions (chatapp/actions), the provider is offered the customer's actions as tools. When a
round of the answer ends in tool calls, the text so far is shown first, then each call goes to
`Actions.handle` (which runs or proposes it and shows its card), and the provider is asked again
with the results, so the answer goes on after them, in the same message; at most
`max_per_answer` calls, after which the provider must finish in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from chatapp.models import ASSISTANT, Message
from chatapp.services.cache import HistoryCache
from chatapp.services.feed import Feed
from chatapp.services.knowledge import KnowledgeBase, small_talk_reply
from chatapp.services.knowledge.compose import SECOND_PASSAGE_RATIO
from chatapp.services.llm.base import ChatTurn, Delta, LLMError, Provider, Question, Step, ToolCall
from chatapp.services.llm.local import LocalResponder
from chatapp.services.threads import ANSWER_SUFFIX, WRITING, Threads

if TYPE_CHECKING:
    from chatapp.actions.service import Actions

log = logging.getLogger(__name__)
HISTORY_TURNS = 12
FLUSH_SECONDS = 0.1  # the page reveals each piece smoothly (components/reveal.js)
CHECKPOINT_SECONDS = 1.0
LEASE_RENEW_SECONDS = 3.0  # well inside the lease (threads.WRITING_LEASE)
BUSY = "The assistant is busy, please retry in a moment."
INTERRUPTED = "The answer was interrupted because the service restarted. Press Retry to ask again."


class StopRequests:
    """"Stop" pressed on one worker, for an answer another worker writes (with Redis)."""

    def __init__(self, redis: Redis | None, prefix: str = "helpdesk:stop:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def request(self, chat_id: str) -> None:
        if self._redis is not None:
            await self._redis.set(self._prefix + chat_id, "1", ex=60)

    async def requested(self, chat_id: str) -> bool:
        return bool(self._redis is not None and await self._redis.getdel(self._prefix + chat_id))


@dataclass
class _Running:
    question: Message
    message: Message  # the answer, stored as "writing"
    text: str = ""
    model: str = ""
    sources: tuple[str, ...] = ()
    declined: bool = False
    error: str = ""
    stream_from: str = ""  # the event that announced it: late readers replay from there
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Queue = field(default_factory=asyncio.Queue)  # deltas, the end, a wake-up


_ENDED, _WAKE = object(), object()  # the provider is done; look again (Stop, a timer)


@dataclass(frozen=True)
class _Flush:
    """Before an action runs: show the text written so far now, then set `done`."""

    done: asyncio.Event


class Assistant:
    def __init__(self, threads: Threads, cache: HistoryCache, feed: Feed,
                 knowledge: Callable[[], KnowledgeBase], provider: Provider,
                 small_talk: LocalResponder, stops: StopRequests | None = None,
                 flush_seconds: float = FLUSH_SECONDS, actions: Actions | None = None) -> None:
        self.threads = threads
        self.cache = cache
        self.feed = feed
        self.knowledge = knowledge
        self.provider = provider
        self.small_talk = small_talk  # pleasantries get a canned reply, whoever answers
        self.stops = stops or StopRequests(None)
        self.flush_seconds = flush_seconds
        self.actions = actions  # None: answers never call actions
        self._running: dict[str, _Running] = {}  # chat id -> its answer being written here
        self._queued: dict[str, list[Message]] = {}  # questions sent in a row wait their turn
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = False

    def busy(self, chat_id: str) -> bool:
        """This worker is writing an answer in the conversation, or has one waiting its turn."""
        return chat_id in self._running or bool(self._queued.get(chat_id))

    def _in_hand(self, question: Message) -> bool:
        running = self._running.get(question.chat_id)
        return (running is not None and running.question.id == question.id) or any(
            q.id == question.id for q in self._queued.get(question.chat_id, []))

    async def start(self, question: Message, again: Message | None = None) -> None:
        """Answer a stored question after any answer already being written in its conversation;
        a question that has an answer (or one on its way, here or elsewhere) is left alone.
        `again`: its failed answer, written anew in place (the page's bubble comes back to life)."""
        chat_id = question.chat_id
        if self._in_hand(question) or self.closing:
            return
        if chat_id in self._running:
            self._queued.setdefault(chat_id, []).append(question)
            return
        # The conversation's turn is taken before anything is awaited: a second question arriving
        # meanwhile waits in the queue instead of starting a second answer beside this one.
        taken = self._running[chat_id] = _Running(question, question)
        try:
            if again is None:
                answer, created = await self.threads.add_message(
                    question.owner, chat_id, ASSISTANT, "",
                    client_id=question.client_id + ANSWER_SUFFIX, status=WRITING)
            else:
                answer = await self.threads.restart_answer(again)
                created = answer is not None
            if created:
                running = self._running[chat_id] = _Running(question, answer, stop=taken.stop)
                log.info("answer started", extra={"chat_id": chat_id})
                await self.stops.requested(chat_id)  # a Stop pressed before it was shown is not for it
                if again is None:
                    await self.cache.append(answer)
                else:
                    await self.cache.invalidate(question.owner, chat_id)
                running.stream_from = await self.feed.message(answer)
        except BaseException:
            self._running.pop(chat_id, None)  # the conversation is free again, whatever failed
            raise
        if not created:
            self._running.pop(chat_id, None)
            await self._next(chat_id)
            return
        task = asyncio.create_task(self._write(running))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def retry(self, question: Message) -> None:
        """Answer again a question whose answer failed or was interrupted."""
        previous = await self.threads.answer_to(question.owner, question.client_id)
        await self.start(question, previous if previous is not None and previous.status == "failed" else None)

    async def stop(self, chat_id: str) -> None:
        running = self._running.get(chat_id)
        if running is not None:
            running.stop.set()
            running.arrived.put_nowait(_WAKE)
        else:
            await self.stops.request(chat_id)

    async def complete(self, question: Message) -> Message | None:
        """Answer a question (in an idle conversation) and wait until it is stored."""
        await self.start(question)
        running = self._running.get(question.chat_id)
        if running is not None:
            await running.done.wait()
        return await self.threads.answer_to(question.owner, question.client_id)

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

    async def _next(self, chat_id: str) -> None:
        queued = self._queued.get(chat_id)
        if queued:
            await self.start(queued.pop(0))
        else:
            self._queued.pop(chat_id, None)

    async def _write(self, answer: _Running) -> None:
        question = answer.question
        try:
            messages = await self.cache.history(question.owner, question.chat_id)
            asked_at = next((i for i, m in enumerate(messages) if m.id == question.id), len(messages))
            history = messages[:asked_at]  # questions sent after this one are not its history
            await self._stream(self._deltas(question, history, answer), answer)
        except LLMError as error:
            answer.error = str(error)
        except asyncio.CancelledError:  # shutting down: keep what was written, marked failed
            answer.error = INTERRUPTED
        except Exception:  # never show a stack trace; keep what was written
            log.exception("answer failed", extra={"chat_id": question.chat_id})
            answer.error = BUSY
        try:
            status = ("stopped" if answer.stop.is_set()
                      else "failed" if answer.error or not answer.text else "complete")
            if status == "failed" and not answer.error:
                answer.error = BUSY
            stored = await self.threads.finish_answer(
                answer.message, content=answer.text, status=status, model=answer.model,
                sources=answer.sources, declined=answer.declined, error=answer.error)
            await self.cache.append(stored)
            await self.feed.message(stored)
        except Exception:  # the database failed: the lease runs out, readers see it
            log.exception("answer not stored", extra={"chat_id": question.chat_id})
        finally:
            self._running.pop(question.chat_id, None)
            answer.done.set()
            with contextlib.suppress(Exception):
                await self._next(question.chat_id)

    def _deltas(self, question: Message, history: list[Message], answer: _Running
                ) -> AsyncIterator[Delta | ToolCall | _Flush]:
        greeting = small_talk_reply(question.content)
        if greeting:
            return self.small_talk.stream_text(greeting)
        recent = [m.content for m in history if m.role == "user"][-2:]
        retrieval = self.knowledge().search(question.content, recent)
        if retrieval.covered:  # the best article's passages, and others' that scored nearly as well
            best = retrieval.hits[0]
            answer.sources = tuple(hit.passage.id for hit in retrieval.hits
                                   if hit.passage.slug == best.passage.slug
                                   or hit.score >= SECOND_PASSAGE_RATIO * best.score)
        answer.declined = not retrieval.covered
        turns: list[ChatTurn] = [{"role": m.role, "content": m.content}
                                 for m in history[-HISTORY_TURNS:]
                                 if m.content and m.role in ("user", "assistant")]
        asked = Question(question.content, turns, retrieval)
        if self.actions is None:
            return self.provider.answer(asked)  # offered no tools: deltas only
        return self._with_actions(question, asked, answer, self.actions)

    async def _with_actions(self, question: Message, asked: Question, answer: _Running,
                            actions: Actions) -> AsyncIterator[Delta | _Flush]:
        """The provider's rounds: each ends in text only (the answer is written) or in tool
        calls, which are handled once the text before them is shown; then the provider goes on
        with their results."""
        try:
            customer = await actions.customer(question.owner)
        except Exception:  # noqa: BLE001 - no actions this time; the answer goes on without
            log.warning("no actions for this answer: the customer could not be read",
                        extra={"chat_id": question.chat_id})
            customer = None
        tools = actions.tools(customer)
        steps: list[Step] = []
        calls = 0
        for _ in range(actions.max_per_answer + 2):  # a provider that calls past its last chance
            this_round = replace(asked, tools=tools, steps=tuple(steps),
                                 may_call=calls < actions.max_per_answer) if tools else asked
            text, pending = "", []
            async with contextlib.aclosing(self.provider.answer(this_round)) as items:
                async for item in items:
                    if isinstance(item, ToolCall):
                        pending.append(item)
                    elif isinstance(item, Delta):
                        text += item.text
                        yield item
            if not pending or customer is None or not tools:
                return
            shown = asyncio.Event()
            yield _Flush(shown)
            await shown.wait()
            answer.declined = False  # it did something for the customer
            results = []
            for call in pending:
                results.append(await actions.handle(customer, answer.message, call, calls,
                                                    offset=len(answer.text)))
                calls += 1
            steps.append(Step(text, tuple(results)))

    async def _stream(self, deltas: AsyncIterator[Delta | ToolCall | _Flush], answer: _Running) -> None:
        """Read the provider in a task of its own, so text that arrives while this one waits is
        gathered into the next piece; flush the first piece at once, then every flush period,
        and the rest the moment the provider ends."""

        async def read() -> None:
            try:
                async with contextlib.aclosing(deltas):
                    async for delta in deltas:
                        answer.arrived.put_nowait(delta)
                answer.arrived.put_nowait(_ENDED)
            except Exception as error:  # noqa: BLE001 - handed to the writer, which decides
                answer.arrived.put_nowait(error)

        reader = asyncio.create_task(read())
        chat_id, message_id = answer.question.chat_id, answer.message.id
        sent = kept = 0
        flushed = kept_at = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                keep_due = kept_at + (CHECKPOINT_SECONDS if len(answer.text) > kept else LEASE_RENEW_SECONDS)
                due = min(keep_due, flushed + self.flush_seconds if len(answer.text) > sent else keep_due)
                try:
                    if not answer.arrived.empty():
                        item = answer.arrived.get_nowait()
                    else:  # asyncio.timeout, not wait_for: no task per delta
                        async with asyncio.timeout(max(0.0, due - now)):
                            item = await answer.arrived.get()
                except TimeoutError:
                    item = _WAKE
                if isinstance(item, Delta):
                    answer.text += item.text
                    answer.model = item.model
                elif isinstance(item, BaseException):
                    raise item
                ended = item is _ENDED
                forced = isinstance(item, _Flush)  # an action is about to run: show the text first
                now = time.monotonic()
                keep_due = kept_at + (CHECKPOINT_SECONDS if len(answer.text) > kept else LEASE_RENEW_SECONDS)
                first = sent == 0
                if ended or (len(answer.text) > sent and (first or forced
                                                          or now - flushed >= self.flush_seconds)):
                    await self.feed.delta(chat_id, message_id, sent, answer.text[sent:], end=ended)
                    sent, flushed = len(answer.text), now
                    if await self.stops.requested(chat_id):
                        answer.stop.set()
                if forced:
                    item.done.set()
                if ended or answer.stop.is_set():
                    return
                if (first and sent) or now >= keep_due:  # kept from the first words, then every second
                    await self.threads.write_answer(message_id, answer.text, answer.stream_from)
                    kept, kept_at = len(answer.text), now
                    if await self.stops.requested(chat_id):
                        answer.stop.set()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

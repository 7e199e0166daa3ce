"""Answers written by one worker, followed from any worker, through Redis streams.

With several workers a tab's event socket and its live-route requests can land on different
processes. The worker writing an answer appends its new text to a Redis stream (the first
piece at once, then at most every `FLUSH_SECONDS`) and names the running answer of the thread
in a short-lived key; any worker reads the stream from the start, so a late reader misses
nothing. Stop requests travel the other way through a key the writer checks as it publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatapp.models import Message
from chatapp.services.answer import INTERRUPTED, Answer

FLUSH_SECONDS = 0.04
MARK_SECONDS = 30  # the running-answer key outlives a dead writer by at most this long
KEEP_SECONDS = 120  # a finished answer's stream stays readable this long
READ_BLOCK_MS = 5_000
# The thread's running-answer key names one answer: only that answer's writer may refresh or
# remove it (the next question's writer may already have named its own).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_REFRESH = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('expire', KEYS[1], ARGV[2]) end return 0")

log = logging.getLogger(__name__)
StoredAnswer = Callable[[str, str], Awaitable[Message | None]]  # (owner, question client id)


class RemoteAnswer(Answer):
    """An answer written by some worker, read from its Redis stream as readers wait for it."""

    def __init__(self, relay: AnswerRelay, owner: str, client_id: str, first_wait: float) -> None:
        super().__init__("", client_id)
        self._relay, self._owner = relay, owner
        self._last_id = "0-0"
        self._deadline = time.monotonic() + first_wait  # until the first entry, then until quiet
        self._reading = asyncio.Lock()

    async def wait_for_more(self, length: int) -> None:
        async with self._reading:
            while len(self.text) <= length and not self.ended.is_set():
                await self._read()

    async def until_saved(self) -> None:
        while not self.saved.is_set():
            await self.wait_for_more(len(self.text))

    async def _read(self) -> None:
        redis, key = self._relay.redis, self._relay.stream_key(self._owner, self.client_id)
        block = max(1, min(READ_BLOCK_MS, int((self._deadline - time.monotonic()) * 1000)))
        replies = await redis.xread({key: self._last_id}, block=block, count=200)
        if replies:
            for entry_id, fields in replies[0][1]:
                self._last_id = entry_id
                await self._apply(fields)
            self._deadline = time.monotonic() + MARK_SECONDS
        elif time.monotonic() >= self._deadline:
            if await self._relay.redis.exists(self._relay.alive_key(self._owner, self.client_id)):
                self._deadline = time.monotonic() + MARK_SECONDS  # slow to start, still alive
                return
            if self.text:  # its writer died
                self.error = INTERRUPTED
            await self._finish()

    async def _apply(self, fields: dict[bytes, bytes]) -> None:
        if b"text" in fields:
            self.text += fields[b"text"].decode()
            self.model = fields.get(b"model", b"").decode()
        if b"done" in fields:
            done = json.loads(fields[b"done"])
            self.question_id, self.error = done["question_id"], done["error"]
            self.sources = tuple(done["sources"])
            if done["stored"]:
                self.message = await self._relay.stored(self._owner, self.client_id)
            await self._finish()

    async def _finish(self) -> None:
        self.ended.set()
        self.saved.set()


class AnswerRelay:
    def __init__(self, redis: Redis, stored: StoredAnswer, prefix: str = "helpdesk:live:") -> None:
        self.redis = redis
        self.stored = stored
        self._prefix = prefix
        self._release = redis.register_script(_RELEASE)
        self._refresh = redis.register_script(_REFRESH)

    def stream_key(self, owner: str, client_id: str) -> str:
        return f"{self._prefix}answer:{owner}:{client_id}"

    def alive_key(self, owner: str, client_id: str) -> str:
        return f"{self._prefix}alive:{owner}:{client_id}"

    def _mark_key(self, owner: str, chat_id: str) -> str:
        return f"{self._prefix}running:{owner}:{chat_id}"

    def _stop_key(self, owner: str, chat_id: str) -> str:
        return f"{self._prefix}stop:{owner}:{chat_id}"

    async def announce(self, owner: str, chat_id: str, client_id: str) -> None:
        """Name the thread's running answer, before any reader can look for it."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.delete(self._stop_key(owner, chat_id))
                pipe.set(self._mark_key(owner, chat_id), client_id, ex=MARK_SECONDS)
                pipe.set(self.alive_key(owner, client_id), 1, ex=MARK_SECONDS)
                await pipe.execute()
        except RedisError as error:
            log.warning("answer relay failed; other workers cannot follow this answer (%s)", error)

    async def publish(self, owner: str, chat_id: str, answer: Answer) -> None:
        """Copy the answer to its stream as it grows, until it is stored; stop it when asked.
        If Redis fails, readers on this worker still get the answer, and it is still stored."""
        try:
            await self._publish(owner, chat_id, answer)
        except RedisError as error:
            log.warning("answer relay failed; other workers cannot follow this answer (%s)", error)

    async def _publish(self, owner: str, chat_id: str, answer: Answer) -> None:
        stream, alive = self.stream_key(owner, answer.client_id), self.alive_key(owner, answer.client_id)
        mark, stop = self._mark_key(owner, chat_id), self._stop_key(owner, chat_id)
        sent = 0
        try:
            while not answer.ended.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(MARK_SECONDS / 3):
                        await answer.wait_for_more(sent)
                        if sent:  # the first piece goes at once, later ones in batches
                            await asyncio.sleep(FLUSH_SECONDS)
                async with self.redis.pipeline(transaction=False) as pipe:
                    if len(answer.text) > sent:
                        pipe.xadd(stream, {"text": answer.text[sent:], "model": answer.model})
                        pipe.expire(stream, KEEP_SECONDS)  # gone in time even if this worker dies
                        sent = len(answer.text)
                    await self._refresh(keys=[mark], args=[answer.client_id, MARK_SECONDS], client=pipe)
                    pipe.set(alive, 1, ex=MARK_SECONDS)
                    pipe.get(stop)
                    if (await pipe.execute())[-1]:
                        answer.stop.set()
            await answer.saved.wait()
            done = {"question_id": answer.question_id, "error": answer.error,
                    "sources": list(answer.sources), "stored": answer.message is not None}
            async with self.redis.pipeline(transaction=True) as pipe:  # readers see both at once
                if len(answer.text) > sent:
                    pipe.xadd(stream, {"text": answer.text[sent:], "model": answer.model})
                pipe.xadd(stream, {"done": json.dumps(done)})
                pipe.expire(stream, KEEP_SECONDS)
                pipe.delete(alive)
                await self._release(keys=[mark], args=[answer.client_id], client=pipe)
                await pipe.execute()
        except BaseException:  # failed or cancelled part-way: un-name the answer, as the end does
            with contextlib.suppress(Exception):
                await self.redis.delete(alive)
                await self._release(keys=[mark], args=[answer.client_id])
            raise

    async def running_client_id(self, owner: str, chat_id: str) -> str | None:
        """The client id of the question whose answer is being written in the thread."""
        client_id = await self.redis.get(self._mark_key(owner, chat_id))
        return client_id.decode() if client_id else None

    def follow(self, owner: str, client_id: str, first_wait: float) -> RemoteAnswer:
        """The answer to the question sent with `client_id`, read from its start; it ends empty
        when nothing was written within `first_wait` seconds."""
        return RemoteAnswer(self, owner, client_id, first_wait)

    async def stop(self, owner: str, chat_id: str) -> None:
        await self.redis.set(self._stop_key(owner, chat_id), "1", ex=MARK_SECONDS)

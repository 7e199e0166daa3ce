"""Each conversation's ordered, resumable stream of events, and the team's.

Everything a page shows of a conversation reaches it as one of these events, in order: a
message added or changed (`message`), text appended to the answer being written (`delta`), the
conversation's state (`conversation`). The customer's tabs and the agents' inbox read the same
stream, from any worker. Events are idempotent (a message replaces the one with its id, a delta
names the offset it starts at), so a reader that starts a little early, or resumes from an id it
already saw, shows nothing twice.

The log is a short replay buffer, not the record: MongoDB is. One worker keeps it in memory;
several share it as Redis streams, so an event written through one worker reaches readers on
all of them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from typing import Any, Protocol

from cachetools import TTLCache
from redis.asyncio import Redis

Event = dict[str, Any]
TEAM = "team"  # the stream of conversation changes every agent's inbox reads
KEEP_EVENTS = 4_000  # per stream: more than a long answer's deltas
KEEP_SECONDS = 6 * 3600


class EventLog(Protocol):
    async def append(self, stream: str, event: Event) -> str:
        """Add an event; its id (ids sort in the order events were added)."""
        ...

    async def head(self, stream: str) -> str:
        """The id of the newest event, or "0" for none: read after it for what comes next."""
        ...

    async def read(self, stream: str, after: str, wait: float) -> list[tuple[str, Event]] | None:
        """Events after `after`, waiting up to `wait` seconds for one; None when `after` is
        no longer in the buffer (too old, or from before a restart): read the record instead."""
        ...


class MemoryEventLog:
    """Streams of one process. Ids carry this process's epoch, so an id from before a restart
    is recognised as unknown rather than mistaken for a position."""

    def __init__(self, max_streams: int = 50_000) -> None:
        self._epoch = secrets.token_hex(3)
        self._streams: TTLCache[str, _Stream] = TTLCache(max_streams, KEEP_SECONDS)

    def _stream(self, name: str) -> _Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _Stream()
        return stream

    async def append(self, stream: str, event: Event) -> str:
        return f"{self._epoch}-{self._stream(stream).add(event)}"

    async def head(self, stream: str) -> str:
        return f"{self._epoch}-{self._stream(stream).last}"

    async def read(self, stream: str, after: str, wait: float) -> list[tuple[str, Event]] | None:
        epoch, _, number = after.partition("-")
        if after == "0":
            epoch, number = self._epoch, "0"
        if epoch != self._epoch or not number.isascii() or not number.isdigit():
            return None
        found = await self._stream(stream).after(int(number), wait)
        return None if found is None else [(f"{self._epoch}-{n}", event) for n, event in found]


class _Stream:
    def __init__(self) -> None:
        self.events: deque[tuple[int, Event]] = deque(maxlen=KEEP_EVENTS)
        self.last = 0
        self._grew = asyncio.Event()

    def add(self, event: Event) -> int:
        self.last += 1
        self.events.append((self.last, event))
        self._grew.set()
        self._grew = asyncio.Event()
        return self.last

    async def after(self, number: int, wait: float) -> list[tuple[int, Event]] | None:
        if number > self.last or (self.events and number < self.events[0][0] - 1):
            return None
        if number == self.last:
            try:
                await asyncio.wait_for(self._grew.wait(), wait)
            except TimeoutError:
                return []
        size = len(self.events)  # the newest are at the right end, where indexing is cheap
        return [self.events[i] for i in range(size - (self.last - number), size)]


class RedisEventLog:
    """Streams shared by every worker (XADD / XREAD), trimmed and expiring on their own."""

    def __init__(self, redis: Redis, prefix: str = "helpdesk:events:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def append(self, stream: str, event: Event) -> str:
        key = self._prefix + stream
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"e": json.dumps(event, separators=(",", ":"))}, maxlen=KEEP_EVENTS,
                      approximate=True)
            pipe.expire(key, KEEP_SECONDS)
            event_id, _ = await pipe.execute()
        return event_id.decode()

    async def head(self, stream: str) -> str:
        newest = await self._redis.xrevrange(self._prefix + stream, count=1)
        return newest[0][0].decode() if newest else "0"

    async def read(self, stream: str, after: str, wait: float) -> list[tuple[str, Event]] | None:
        key = self._prefix + stream
        if not _redis_id(after):
            return None
        if after != "0":
            oldest = await self._redis.xrange(key, count=1)
            if not oldest or _id_key(oldest[0][0].decode()) > _id_key(after):
                return None  # trimmed past it, or expired: the reader missed events
        replies = await self._redis.xread({key: after}, block=max(1, int(wait * 1000)), count=500)
        return [(entry_id.decode(), json.loads(fields[b"e"])) for entry_id, fields in
                (replies[0][1] if replies else [])]


def _redis_id(value: str) -> bool:
    """"0", or an id Redis accepts: two unsigned 64-bit numbers joined by "-" (a larger number
    makes XREAD fail, which would break the reader's stream instead of giving it a snapshot)."""
    if value == "0":
        return True
    first, _, second = value.partition("-")
    return all(part.isascii() and part.isdigit() and len(part) <= 20 and int(part) < 2**64
               for part in (first, second))


def _id_key(value: str) -> tuple[int, int]:
    first, _, second = value.partition("-")
    return int(first), int(second or 0)

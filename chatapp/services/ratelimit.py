"""Sliding-window limits behind one small interface: in process for one worker, in Redis when
several workers must count together (a lock-out must hold whichever worker is asked).

Checking and recording are one atomic step (`hit`): a limit that counted first and recorded
afterwards let every request already in flight through (40 parallel log-ins all got to try).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from cachetools import TTLCache
from redis.asyncio import Redis


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> tuple[str, float]:
        """Record one event for `key` if fewer than `limit` happened within `window` seconds:
        (the event's id, 0.0); otherwise record nothing: ("", seconds until a slot frees)."""
        ...

    async def forget(self, key: str, event: str) -> None:
        """Remove one recorded event (an attempt that turned out not to count)."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every event for `key`."""
        ...


class MemoryRateLimiter:
    """Per-process limiter; keys idle longer than `max_window` are dropped (bounded memory)."""

    def __init__(
        self,
        max_window: float = 3600,
        maxsize: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events: TTLCache[str, deque[tuple[float, str]]] = TTLCache(maxsize, max_window, timer=clock)
        self._clock = clock
        self._lock = asyncio.Lock()

    async def hit(self, key: str, limit: int, window: float) -> tuple[str, float]:
        async with self._lock:  # no await inside: check and record are one step
            now = self._clock()
            events = self._events.get(key) or deque()
            while events and events[0][0] <= now - window:
                events.popleft()
            if len(events) >= limit:
                self._events[key] = events
                return "", max(0.0, events[0][0] + window - now)
            event = uuid.uuid4().hex
            events.append((now, event))
            self._events[key] = events
            return event, 0.0

    async def forget(self, key: str, event: str) -> None:
        async with self._lock:
            events = self._events.get(key)
            if events:
                self._events[key] = deque(e for e in events if e[1] != event)

    async def reset(self, key: str) -> None:
        async with self._lock:
            self._events.pop(key, None)


# KEYS[1]: the key's sorted set; ARGV: now, window, limit, new member. One script, so no other
# client's event can land between the count and the record.
_HIT = """
redis.call('zremrangebyscore', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('zcard', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('zadd', KEYS[1], ARGV[1], ARGV[4])
  redis.call('expire', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
  return ''
end
return redis.call('zrange', KEYS[1], 0, 0, 'withscores')[2]
"""


class RedisRateLimiter:
    """Events as members of one sorted set per key, scored by time; keys expire with their window."""

    def __init__(self, redis: Redis, prefix: str = "helpdesk:rate:",
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, window: float) -> tuple[str, float]:
        now, event = self._clock(), uuid.uuid4().hex
        oldest = await self._hit(keys=[self._prefix + key], args=[repr(now), window, limit, event])
        if not oldest:
            return event, 0.0
        return "", max(0.0, float(oldest) + window - now)

    async def forget(self, key: str, event: str) -> None:
        await self._redis.zrem(self._prefix + key, event)

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


async def take(limiter: RateLimiter, key: str, limit: int, window: float) -> float:
    """Count one use of `key` if under `limit`; return 0, or the seconds to wait if refused."""
    event, wait = await limiter.hit(key, limit, window)
    return 0.0 if event else max(wait, 1.0)


def wait_phrase(seconds: float) -> str:
    """'in 14 minutes' / 'in 30 seconds': how long the user must wait, rounded up."""
    seconds = max(1, round(seconds + 0.499))
    if seconds >= 90:
        minutes = round(seconds / 60 + 0.499)
        return f"in {minutes} minutes"
    return f"in {seconds} second{'s' if seconds != 1 else ''}"

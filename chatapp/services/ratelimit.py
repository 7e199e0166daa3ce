"""Sliding-window counters behind one small interface: in process for one worker, in Redis
when several workers must count together (a lock-out must hold whichever worker is asked)."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from cachetools import TTLCache
from redis.asyncio import Redis


class RateLimiter(Protocol):
    async def count(self, key: str, window: float) -> tuple[int, float]:
        """Events for `key` within `window` seconds, and seconds until the oldest expires."""
        ...

    async def add(self, key: str, window: float) -> None:
        """Record one event for `key`."""
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
        self._events: TTLCache[str, deque[float]] = TTLCache(maxsize, max_window, timer=clock)
        self._clock = clock
        self._lock = asyncio.Lock()

    def _recent(self, key: str, window: float) -> deque[float]:
        events = self._events.get(key) or deque()
        cutoff = self._clock() - window
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    async def count(self, key: str, window: float) -> tuple[int, float]:
        async with self._lock:
            events = self._recent(key, window)
            if not events:
                return 0, 0.0
            return len(events), max(0.0, events[0] + window - self._clock())

    async def add(self, key: str, window: float) -> None:
        async with self._lock:
            events = self._recent(key, window)
            events.append(self._clock())
            self._events[key] = events

    async def reset(self, key: str) -> None:
        async with self._lock:
            self._events.pop(key, None)


class RedisRateLimiter:
    """Events as members of one sorted set per key, scored by time; keys expire with their window."""

    def __init__(self, redis: Redis, prefix: str = "helpdesk:rate:",
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock

    async def count(self, key: str, window: float) -> tuple[int, float]:
        now = self._clock()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._prefix + key, "-inf", now - window)
            pipe.zcard(self._prefix + key)
            pipe.zrange(self._prefix + key, 0, 0, withscores=True)
            _, used, oldest = await pipe.execute()
        if not used:
            return 0, 0.0
        return used, max(0.0, oldest[0][1] + window - now)

    async def add(self, key: str, window: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._prefix + key, {uuid.uuid4().hex: self._clock()})
            pipe.expire(self._prefix + key, math.ceil(window) + 1)
            await pipe.execute()

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


async def take(limiter: RateLimiter, key: str, limit: int, window: float) -> float:
    """Count one use of `key` if under `limit`; return 0, or the seconds to wait if refused."""
    used, wait = await limiter.count(key, window)
    if used >= limit:
        return max(wait, 1.0)
    await limiter.add(key, window)
    return 0.0


def wait_phrase(seconds: float) -> str:
    """'in 14 minutes' / 'in 30 seconds': how long the user must wait, rounded up."""
    seconds = max(1, round(seconds + 0.499))
    if seconds >= 90:
        minutes = round(seconds / 60 + 0.499)
        return f"in {minutes} minutes"
    return f"in {seconds} second{'s' if seconds != 1 else ''}"

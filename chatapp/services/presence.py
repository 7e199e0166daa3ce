"""Which agents are online or away, so the team sees each other and customers are told the truth.

An agent is online while an inbox page of theirs holds the team's stream open (it renews the
mark every few seconds) and says it is visible; the mark expires on its own when the page goes.
With several workers the marks live in Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

ONLINE, AWAY = "online", "away"
MARK_SECONDS = 45


class Presence(Protocol):
    async def mark(self, agent_id: str, status: str) -> None: ...

    async def statuses(self) -> dict[str, str]:
        """agent id -> ONLINE or AWAY, for every agent with a live mark."""
        ...


class MemoryPresence:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._marks: dict[str, tuple[str, float]] = {}
        self._clock = clock

    async def mark(self, agent_id: str, status: str) -> None:
        now = self._clock()
        self._marks = {agent: mark for agent, mark in self._marks.items() if mark[1] > now}
        self._marks[agent_id] = (status, now + MARK_SECONDS)

    async def statuses(self) -> dict[str, str]:
        now = self._clock()
        return {agent: status for agent, (status, until) in self._marks.items() if until > now}


class RedisPresence:
    def __init__(self, redis: Redis, prefix: str = "helpdesk:presence:") -> None:
        self._redis = redis
        self._until = prefix + "until"  # sorted set: agent -> when the mark expires
        self._status = prefix + "status"  # hash: agent -> status

    async def mark(self, agent_id: str, status: str) -> None:
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._until, "-inf", now)
            pipe.zadd(self._until, {agent_id: now + MARK_SECONDS})
            pipe.hset(self._status, agent_id, status)
            await pipe.execute()

    async def statuses(self) -> dict[str, str]:
        live = await self._redis.zrangebyscore(self._until, time.time(), "+inf")
        if not live:
            return {}
        values = await self._redis.hmget(self._status, live)
        return {agent.decode(): (value or b"online").decode()
                for agent, value in zip(live, values, strict=True)}

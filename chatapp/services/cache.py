"""The history cache: a bounded in-process layer in front of the database.

Write-through on every saved message, invalidated on delete and clear, keyed by owner and
thread. Each entry remembers the versions of its thread and owner it was read at; with
several workers the versions live in Redis, so a message, delete or clear made through one
worker makes every other worker's copy stale at once (one Redis read per lookup, no database
read). Hits and misses are counted for the metrics route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from cachetools import TTLCache
from redis.asyncio import Redis

from chatapp.models import Message
from chatapp.services.threads import in_turn_order

Loader = Callable[[str, str], Awaitable[list[Message]]]
VERSION_TTL = 86_400  # far longer than any cache entry lives, so a lapsed counter cannot repeat


class Versions(Protocol):
    async def current(self, keys: list[str]) -> tuple[int, ...]:
        """The counters' values (0 for one never bumped)."""
        ...

    async def bump(self, key: str) -> int:
        """Add one to the counter; its new value."""
        ...


class LocalVersions:
    """Counters for one worker, where every write passes through this process; bounded, and
    outliving any cache entry, so a dropped counter can never be mistaken for a current one."""

    def __init__(self, maxsize: int = 200_000) -> None:
        self._counters: TTLCache[str, int] = TTLCache(maxsize, VERSION_TTL)

    async def current(self, keys: list[str]) -> tuple[int, ...]:
        return tuple(self._counters.get(key, 0) for key in keys)

    async def bump(self, key: str) -> int:
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key]


class RedisVersions:
    """Counters shared by every worker."""

    def __init__(self, redis: Redis, prefix: str = "helpdesk:history:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def current(self, keys: list[str]) -> tuple[int, ...]:
        values = await self._redis.mget([self._prefix + key for key in keys])
        return tuple(int(value or 0) for value in values)

    async def bump(self, key: str) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, VERSION_TTL)
            value, _ = await pipe.execute()
        return int(value)


class HistoryCache:
    def __init__(self, load: Loader, maxsize: int, ttl: float, timer=None,
                 versions: Versions | None = None) -> None:
        kwargs = {"timer": timer} if timer else {}
        self._entries: TTLCache[tuple[str, str], tuple[tuple[int, ...], list[Message]]] = TTLCache(
            maxsize, ttl, **kwargs)
        self._load = load
        self._versions = versions or LocalVersions()
        self.hits = 0
        self.misses = 0

    async def history(self, owner: str, chat_id: str) -> list[Message]:
        """The thread's messages, oldest first (a copy: callers may not change the cache)."""
        key = (owner, chat_id)
        stamp = await self._versions.current([owner, f"{owner}:{chat_id}"])
        cached = self._entries.get(key)
        if cached is not None and cached[0] == stamp:
            self.hits += 1
            return list(cached[1])
        self.misses += 1
        messages = await self._load(owner, chat_id)
        self._entries[key] = (stamp, messages)  # a write meanwhile bumped past `stamp`: reread then
        return list(messages)

    async def append(self, message: Message) -> None:
        """Write-through: a cached thread gains the saved message, or its new version (a finished
        answer, a rated one), unless another worker wrote to it since it was read (then it is
        read again next time)."""
        key = (message.owner, message.chat_id)
        version = await self._versions.bump(f"{message.owner}:{message.chat_id}")
        cached = self._entries.get(key)
        if cached is None:
            return
        (owner_version, thread_version), messages = cached
        if thread_version != version - 1:
            self._entries.pop(key, None)
        elif all(m.id != message.id for m in messages):
            self._entries[key] = ((owner_version, version), in_turn_order([*messages, message]))
        else:
            self._entries[key] = ((owner_version, version),
                                  [message if m.id == message.id else m for m in messages])

    async def invalidate(self, owner: str, chat_id: str | None = None) -> None:
        """Forget one thread, or every thread of the owner, in every worker."""
        if chat_id is not None:
            await self._versions.bump(f"{owner}:{chat_id}")
            self._entries.pop((owner, chat_id), None)
            return
        await self._versions.bump(owner)
        for key in [key for key in list(self._entries.keys()) if key[0] == owner]:
            self._entries.pop(key, None)

    def stats(self) -> dict[str, float]:
        lookups = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "size": len(self._entries),
                "maxsize": self._entries.maxsize,
                "hit_ratio": round(self.hits / lookups, 4) if lookups else 0.0}

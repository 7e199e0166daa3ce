"""The history cache: a bounded in-process layer in front of the database.

Write-through on every saved message, invalidated on delete and clear, keyed by owner and
thread. Hits and misses are counted for the metrics route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from cachetools import TTLCache

from chatapp.models import Message
from chatapp.services.threads import in_turn_order

Loader = Callable[[str, str], Awaitable[list[Message]]]


class HistoryCache:
    def __init__(self, load: Loader, maxsize: int, ttl: float, timer=None) -> None:
        kwargs = {"timer": timer} if timer else {}
        self._entries: TTLCache[tuple[str, str], list[Message]] = TTLCache(maxsize, ttl, **kwargs)
        self._load = load
        self.hits = 0
        self.misses = 0

    async def history(self, owner: str, chat_id: str) -> list[Message]:
        """The thread's messages, oldest first (a copy: callers may not change the cache)."""
        key = (owner, chat_id)
        cached = self._entries.get(key)
        if cached is not None:
            self.hits += 1
            return list(cached)
        self.misses += 1
        messages = await self._load(owner, chat_id)
        self._entries[key] = messages
        return list(messages)

    def append(self, message: Message) -> None:
        """Write-through: a cached thread gains the saved message (uncached ones load later)."""
        cached = self._entries.get((message.owner, message.chat_id))
        if cached is not None and all(m.id != message.id for m in cached):
            cached[:] = in_turn_order([*cached, message])

    def invalidate(self, owner: str, chat_id: str | None = None) -> None:
        """Forget one thread, or every thread of the owner."""
        if chat_id is not None:
            self._entries.pop((owner, chat_id), None)
            return
        for key in [key for key in list(self._entries.keys()) if key[0] == owner]:
            self._entries.pop(key, None)

    def stats(self) -> dict[str, float]:
        lookups = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "size": len(self._entries),
                "maxsize": self._entries.maxsize,
                "hit_ratio": round(self.hits / lookups, 4) if lookups else 0.0}

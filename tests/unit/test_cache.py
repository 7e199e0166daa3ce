"""The history cache: hits after the first read, write-through, bounds, TTL and invalidation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from chatapp.models import Message
from chatapp.services.cache import HistoryCache, LocalVersions


def message(n: int, owner: str = "u1", chat_id: str = "c1") -> Message:
    return Message(id=str(n), owner=owner, chat_id=chat_id, role="user", content=f"m{n}",
                   status="sent", model="", client_id=f"k{n}", created_at=datetime.now(UTC))


class Database:
    def __init__(self) -> None:
        self.rows: list[Message] = []
        self.loads = 0

    async def load(self, owner: str, chat_id: str) -> list[Message]:
        self.loads += 1
        return [m for m in self.rows if (m.owner, m.chat_id) == (owner, chat_id)]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_steady_conversation_reads_after_the_first_are_hits():
    db = Database()
    cache = HistoryCache(db.load, maxsize=10, ttl=60)
    for n in range(10):
        await cache.history("u1", "c1")
        saved = message(n)
        db.rows.append(saved)
        await cache.append(saved)
    assert db.loads == 1
    assert cache.stats()["hits"] == 9 and cache.stats()["misses"] == 1
    assert [m.content for m in await cache.history("u1", "c1")] == [f"m{n}" for n in range(10)]


async def test_a_finished_answer_replaces_its_writing_version_without_a_reread():
    db = Database()
    cache = HistoryCache(db.load, maxsize=10, ttl=60)
    await cache.history("u1", "c1")
    writing = replace(message(1), role="assistant", content="", status="writing")
    db.rows.append(writing)
    await cache.append(writing)
    finished = replace(writing, content="The whole answer.", status="complete")
    db.rows[-1] = finished
    await cache.append(finished)
    assert [(m.content, m.status) for m in await cache.history("u1", "c1")] == [
        ("The whole answer.", "complete")]
    assert db.loads == 1  # the next turn's history is a hit


async def test_callers_cannot_change_the_cached_history():
    db = Database()
    db.rows.append(message(1))
    cache = HistoryCache(db.load, maxsize=10, ttl=60)
    (await cache.history("u1", "c1")).clear()
    assert len(await cache.history("u1", "c1")) == 1


async def test_owners_and_threads_are_kept_apart():
    db = Database()
    db.rows += [message(1, "u1", "c1"), message(2, "u2", "c1")]
    cache = HistoryCache(db.load, maxsize=10, ttl=60)
    assert [m.id for m in await cache.history("u1", "c1")] == ["1"]
    assert [m.id for m in await cache.history("u2", "c1")] == ["2"]


async def test_size_is_bounded_and_entries_expire():
    db = Database()
    clock = Clock()
    cache = HistoryCache(db.load, maxsize=3, ttl=60, timer=clock)
    for n in range(10):
        await cache.history("u1", f"c{n}")
    assert cache.stats()["size"] == 3
    clock.now = 61
    await cache.history("u1", "c9")
    assert cache.stats()["misses"] == 11


async def test_invalidation_of_a_thread_or_all_of_an_owners_threads():
    db = Database()
    cache = HistoryCache(db.load, maxsize=10, ttl=60)
    for chat_id in ("c1", "c2"):
        await cache.history("u1", chat_id)
    await cache.history("u2", "c1")
    await cache.invalidate("u1", "c1")
    await cache.history("u1", "c1")
    assert db.loads == 4
    await cache.invalidate("u1")
    await cache.history("u1", "c2")
    await cache.history("u2", "c1")
    assert db.loads == 5


async def test_workers_sharing_versions_see_each_others_writes_at_once():
    """Two workers' caches with one set of counters (Redis in production): a message saved,
    or a thread deleted, through one worker is never served stale by the other."""
    db, shared = Database(), LocalVersions()
    one = HistoryCache(db.load, maxsize=10, ttl=60, versions=shared)
    two = HistoryCache(db.load, maxsize=10, ttl=60, versions=shared)
    assert await two.history("u1", "c1") == []
    saved = message(1)
    db.rows.append(saved)
    await one.append(saved)
    assert [m.id for m in await two.history("u1", "c1")] == ["1"]
    db.rows.clear()
    await one.invalidate("u1")
    assert await two.history("u1", "c1") == []


async def test_a_thread_written_and_read_through_one_worker_stays_a_hit():
    db, shared = Database(), LocalVersions()
    one = HistoryCache(db.load, maxsize=10, ttl=60, versions=shared)
    other = HistoryCache(db.load, maxsize=10, ttl=60, versions=shared)
    await other.history("u1", "c2")
    for n in range(10):
        await one.history("u1", "c1")
        db.rows.append(message(n))
        await one.append(db.rows[-1])
        await other.append(message(100 + n, chat_id="c2"))  # other threads do not disturb it
    assert one.stats()["hits"] == 9 and db.loads == 2

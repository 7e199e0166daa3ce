"""The per-conversation event log, in memory and on a real Redis: ordered, resumable, bounded,
and waking readers that wait."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from chatapp.services import events
from chatapp.services.events import MemoryEventLog, RedisEventLog
from tests.integration.conftest import eventually


@pytest.fixture(params=["memory", "redis"])
async def log(request, redis_server):
    """(the log, a coroutine that returns once a reader is blocked waiting on it)."""
    if request.param == "memory":
        async def parked() -> None:
            await asyncio.sleep(0)  # one turn of the loop: the reader is parked on its wake-up
        yield MemoryEventLog(), parked
        return
    redis = Redis.from_url(redis_server.url)

    async def blocked() -> bool:
        return any(client.get("cmd") == "xread" for client in await redis.client_list())

    async def parked() -> None:
        await eventually(blocked, 2, "a reader blocked in XREAD")
    yield RedisEventLog(redis), parked
    await redis.flushdb()
    await redis.aclose()


async def test_events_come_back_in_order_and_resume_after_an_id(log):
    log, _ = log
    empty = await log.head("c1")
    assert await log.read("c1", empty, 0) == []
    ids = [await log.append("c1", {"n": n}) for n in range(5)]
    await log.append("c2", {"n": "other"})
    assert await log.head("c1") == ids[-1]
    everything = await log.read("c1", "0", 0)
    assert [event for _, event in everything] == [{"n": n} for n in range(5)]
    assert [event_id for event_id, _ in everything] == ids
    assert await log.read("c1", ids[1], 0) == [(ids[n], {"n": n}) for n in (2, 3, 4)]
    assert await log.read("c1", ids[-1], 0.05) == []  # nothing new: an empty wait


async def test_an_unknown_or_too_old_id_reads_as_none(log, monkeypatch):
    log, _ = log
    ids = [await log.append("c1", {"n": n}) for n in range(3)]
    for unknown in ("zzzzzz-1", "1-0-0", "-1", "abc", "²", "1-²", "99999999999999999999-0", "1-" + "9" * 20):
        assert await log.read("c1", unknown, 0) is None, unknown
    if isinstance(log, MemoryEventLog):
        restarted = await MemoryEventLog().append("c1", {"n": 0})  # an id from before a restart
        assert await log.read("c1", restarted, 0) is None
        assert await log.read("c1", ids[-1].rsplit("-", 1)[0] + "-99", 0) is None  # not written yet
        monkeypatch.setattr(events, "KEEP_EVENTS", 3)
        kept = [await log.append("short", {"n": n}) for n in range(5)]  # the first two are dropped
        assert await log.read("short", kept[0], 0) is None
        assert [e["n"] for _, e in await log.read("short", kept[1], 0)] == [2, 3, 4]
    else:
        assert await log.read("c1", "1-0", 0) is None  # before the oldest kept event
        await log._redis.delete("helpdesk:events:c1")  # expired
        assert await log.read("c1", ids[0], 0) is None


async def test_a_waiting_reader_wakes_when_an_event_is_added(log):
    log, waiting = log
    after = await log.head("c1")
    reader = asyncio.create_task(log.read("c1", after, 5))
    await waiting()
    assert not reader.done()
    event_id = await log.append("c1", {"type": "delta", "text": "Hi"})
    assert await asyncio.wait_for(reader, 1) == [(event_id, {"type": "delta", "text": "Hi"})]

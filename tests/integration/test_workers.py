"""Two workers sharing one Redis and one database: an answer written by one is followed and
stopped from the other, limits are counted together, and neither serves stale history."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis

from chatapp.live import _events
from chatapp.services.answer import Answer
from chatapp.services.cache import HistoryCache, RedisVersions
from chatapp.services.chat import Chat, SendRejected
from chatapp.services.llm.base import Delta
from chatapp.services.llm.local import LocalResponder
from chatapp.services.ratelimit import RedisRateLimiter, take
from chatapp.services.relay import AnswerRelay
from tests.fakes.fake_openrouter import FakeOpenRouter
from tests.integration.test_chat_turns import KNOWLEDGE, openrouter

QUESTION = "How do I reset my password?"


@pytest.fixture(scope="module")
def fake():
    with FakeOpenRouter(text="Reset it from the sign-in page. " * 10, chunk_size=8,
                        delay=0.01) as server:  # 40 chunks: about 0.4 s
        yield server


@pytest.fixture
async def redis(redis_server):
    client = Redis.from_url(redis_server.url)
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def worker(threads, redis, fake):
    """Makes workers: each its own cache, limiter and relay, sharing the Redis and database."""
    made: list[Chat] = []

    def make(per_minute: int = 20) -> Chat:
        cache = HistoryCache(threads.messages, maxsize=100, ttl=60, versions=RedisVersions(redis))
        made.append(Chat(threads, cache, RedisRateLimiter(redis), lambda: KNOWLEDGE,
                         openrouter(fake), LocalResponder(pause=0), max_chars=4000,
                         messages_per_minute=per_minute, relay=AnswerRelay(redis, threads.answer_to)))
        return made[-1]

    yield make
    for chat in made:  # let relays finish before Redis is flushed
        await chat.drain(5)


def _text(events: list[str]) -> str:
    return "".join(json.loads(e.split("data: ", 1)[1]) for e in events if e.startswith("id: "))


async def test_an_answer_written_by_one_worker_streams_through_the_other(threads, worker, fake):
    one, two = worker(), worker()
    thread, question, _ = await one.ask("w1", None, QUESTION, "x1")
    early = asyncio.create_task(two.answer_for("w1", "x1", 5))  # opened as the page sends
    await one.start(question)
    await asyncio.sleep(0.1)
    assert await two.busy("w1", thread.id)
    by_thread = [e async for e in _events(await two.running("w1", thread.id), 0)]
    by_client = [e async for e in _events(await early, 0)]
    stored = (await threads.messages("w1", thread.id))[-1]
    assert stored.role == "assistant" and stored.status == "complete"
    assert _text(by_thread) == _text(by_client) == stored.content == fake.text
    assert by_thread[-1] == 'event: done\ndata: {"error": ""}\n\n'
    followed = await two.running("w1", thread.id)
    assert followed is None and not await two.busy("w1", thread.id)


async def test_a_follower_on_another_worker_gets_the_stored_message(threads, worker, fake):
    one, two = worker(), worker()
    thread, question, _ = await one.ask("w2", None, QUESTION, "f1")
    await one.start(question)
    await asyncio.sleep(0.05)
    answer = await two.running("w2", thread.id)
    await answer.until_saved()
    assert answer.question_id == question.id and answer.error == ""
    assert answer.message == (await threads.messages("w2", thread.id))[-1]


async def test_stop_pressed_through_another_worker_stops_the_answer(threads, worker, fake):
    one, two = worker(), worker()
    thread, question, _ = await one.ask("w3", None, QUESTION, "s1")
    await one.start(question)
    await asyncio.sleep(0.15)
    await two.stop("w3", thread.id)
    await (await one.running("w3", thread.id)).saved.wait()
    stored = (await threads.messages("w3", thread.id))[-1]
    assert stored.status == "stopped" and 0 < len(stored.content) < len(fake.text)


async def test_the_ai_limit_counts_messages_sent_through_every_worker(worker):
    one, two = worker(per_minute=3), worker(per_minute=3)
    await one.ask("w4", None, "First question?", "l1")
    await two.ask("w4", None, "Second question?", "l2")
    await one.ask("w4", None, "Third question?", "l3")
    with pytest.raises(SendRejected, match="limit of 3 messages a minute"):
        await two.ask("w4", None, "Fourth question?", "l4")


async def test_redis_limits_wait_until_the_oldest_event_leaves_the_window(redis):
    clock = [1000.0]
    first, second = (RedisRateLimiter(redis, clock=lambda: clock[0]) for _ in range(2))
    for limiter in (first, second, first):
        assert await take(limiter, "login:account:ann", limit=3, window=60) == 0
    clock[0] += 20
    assert await take(second, "login:account:ann", limit=3, window=60) == pytest.approx(40)
    clock[0] += 41
    assert await take(second, "login:account:ann", limit=3, window=60) == 0
    await first.reset("login:account:ann")
    assert await second.count("login:account:ann", 60) == (0, 0.0)


async def test_history_saved_or_deleted_through_one_worker_is_never_stale_on_the_other(
        threads, worker):
    one, two = worker(), worker()
    thread, question, _ = await one.ask("w5", None, QUESTION, "h1")
    assert [m.id for m in await two.cache.history("w5", thread.id)] == [question.id]
    await one.complete(question)
    assert [m.role for m in await two.cache.history("w5", thread.id)] == ["user", "assistant"]
    await threads.delete("w5", thread.id)
    await one.cache.invalidate("w5", thread.id)
    assert await two.cache.history("w5", thread.id) == []
    steady, _, _ = await one.ask("w5", None, "Question 0?", "t0")
    before = one.cache.stats()
    for n in range(1, 6):  # held on one worker, reads after the first hit its cache
        await one.cache.history("w5", steady.id)
        await one.ask("w5", steady.id, f"Question {n}?", f"t{n}")
    after = one.cache.stats()
    assert (after["hits"] - before["hits"], after["misses"] - before["misses"]) == (4, 1)


async def test_the_writer_never_mistakes_its_own_stored_answer_for_one_still_running(worker):
    """Its relay names the answer for a moment after it is stored; a tab following the thread
    on that worker must not show the answer twice (the second time re-reading the thread)."""
    one = worker()
    thread, question, _ = await one.ask("w6", None, QUESTION, "o1")
    await one.complete(question)
    assert await one.running("w6", thread.id) is None
    assert not await one.busy("w6", thread.id)


async def test_an_answer_ending_leaves_the_next_questions_answer_named(threads, redis):
    """The next question may be named as running before the last answer's relay finishes
    (the page sends as soon as it sees the answer stored): that relay must not un-name it."""
    relay = AnswerRelay(redis, threads.answer_to)
    last = Answer("q1", "c1")
    await relay.announce("w7", "t", "c1")
    publishing = asyncio.create_task(relay.publish("w7", "t", last))
    last.extend(Delta("Some text", "m"))
    await asyncio.sleep(0.01)
    last.extend(Delta(" and more.", "m"))
    last.ended.set()
    await relay.announce("w7", "t", "c2")  # while the relay still flushes its last piece
    last.saved.set()
    await publishing
    assert await relay.running_client_id("w7", "t") == "c2"
    follower = relay.follow("w7", "c1", 1)
    await follower.until_saved()
    assert follower.text == "Some text and more." and follower.ended.is_set()

"""Two workers (two runtime.build processes' services) sharing one Redis and one database: an
answer written by one is followed and stopped through the other, limits are counted together,
neither serves stale history, and each sees who of the team the other marked online."""

from __future__ import annotations

import asyncio

import pytest

from chatapp.models import AGENT, WAITING
from chatapp.services.conversations import SendRejected, ThreadNotFound
from chatapp.services.ratelimit import RedisRateLimiter, take
from chatapp.services.threads import WRITING
from tests.integration.conftest import (
    ANSWER,
    QUESTION,
    Page,
    answered,
    eventually,
    finished,
    new_chat_id,
    person,
)


@pytest.fixture
def pair(apps, redis_server, redis):
    """Makes two workers on the test's database and one Redis; the second serves the routes."""
    def make(**env: str):
        return apps(REDIS_URL=redis_server.url, **env), apps(REDIS_URL=redis_server.url, **env)
    return make


async def post(services, user, chat_id: str, text: str = QUESTION):
    _, message, _ = await services.conversations.post(user, chat_id, text, f"c-{new_chat_id()}")
    return message


async def test_an_answer_written_by_one_worker_is_followed_completely_through_the_other(
        pair, sign_in, fake):
    fake.delay = 0.02
    one, two = pair()
    ann = await sign_in(two, "ann")
    chat_id = new_chat_id()
    async with ann.events(chat_id) as stream:  # on worker two, before the message is sent
        question = await post(one, ann.user, chat_id)  # through worker one, which answers it
        events = await stream.until(finished)
    assert not two.assistant.busy(chat_id)  # worker one wrote it
    stored = await one.threads.answer_to(ann.user.id, question.client_id)
    assert stored.status == "complete" and stored.content == ANSWER
    assert Page().apply(*events).answer()["content"] == ANSWER
    logged = [e for _, e in await two.events.read(chat_id, "0", 0) if e["type"] == "delta"]
    assert "".join(e["text"] for e in logged) == ANSWER


async def test_stop_pressed_through_one_worker_stops_the_answer_the_other_writes(pair, fake):
    fake.delay = 0.05
    one, two = pair()
    ann = await person(one.store.users, "ann")
    chat_id = new_chat_id()
    question = await post(one, ann, chat_id)

    async def writing():
        answer = await two.threads.answer_to(ann.id, question.client_id)
        return answer and answer.status == WRITING and answer.content
    await eventually(writing, 5, "the first words")
    await two.conversations.stop(ann, chat_id)
    stopped = await answered(one, question, within=3)
    assert stopped.status == "stopped"
    assert stopped.content and ANSWER.startswith(stopped.content) and len(stopped.content) < len(ANSWER)


async def test_the_ai_limit_counts_messages_sent_through_both_workers(pair):
    one, two = pair(AI_MESSAGES_PER_MINUTE="3")
    ann = await person(one.store.users, "ann")
    for services in (one, two, one):
        await post(services, ann, new_chat_id(), "hello")
    with pytest.raises(SendRejected, match="limit of 3 messages a minute"):
        await post(two, ann, new_chat_id(), "hello")


async def test_history_saved_or_deleted_through_one_worker_is_never_stale_on_the_other(pair):
    one, two = pair()
    ann = await person(one.store.users, "ann")
    chat_id = new_chat_id()
    question = await post(one, ann, chat_id)
    assert [m.id for m in await two.cache.history(ann.id, chat_id)][:1] == [question.id]  # cached now
    await eventually(lambda: not one.assistant.busy(chat_id), 5, "the answer")  # stored and told
    assert [(m.role, m.status) for m in await two.cache.history(ann.id, chat_id)] == [
        ("user", "sent"), ("assistant", "complete")]
    await one.conversations.delete(ann, chat_id)
    assert await two.cache.history(ann.id, chat_id) == []
    with pytest.raises(ThreadNotFound):
        await two.conversations.visible(ann, chat_id)

    steady = (await one.conversations.post(ann, new_chat_id(), "human", "t0"))[0]  # the team's now
    before = one.cache.stats()
    for n in range(1, 6):  # read and written through one worker: reads after the first hit its cache
        await one.cache.history(ann.id, steady.id)
        await post(one, ann, steady.id, f"Question {n}?")
    after = one.cache.stats()
    assert (after["hits"] - before["hits"], after["misses"] - before["misses"]) == (4, 1)


async def test_an_agent_online_on_one_worker_is_seen_on_the_other(pair, sign_in, apps):
    one, two = pair()
    apps.serve(one)
    alex = await sign_in(one, "alex", AGENT)
    ann = await person(two.store.users, "ann")
    async with alex.stream("/api/inbox/events") as inbox:  # the inbox marks Alex online, on one
        await inbox.next()
        assert (await two.presence.statuses()).get(alex.user.id) == "online"
        thread = await two.conversations.request_person(ann, new_chat_id())
        assert thread.status == WAITING and thread.notice.startswith("You're in the queue")
        row = (await inbox.until(lambda e: e["type"] == "queue"))[-1]["row"]  # handed off on two
    assert row["id"] == thread.id and row["status"] == WAITING


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
    assert await take(second, "login:account:ann", limit=1, window=60) == 0


async def test_redis_limits_record_at_most_the_limit_however_many_arrive_at_once(redis):
    limiters = [RedisRateLimiter(redis) for _ in range(4)]  # four workers
    events = await asyncio.gather(*(limiters[n % 4].hit("login:account:bo", 5, 60) for n in range(40)))
    assert sum(1 for event, _ in events if event) == 5


async def test_a_stop_pressed_after_the_answer_ended_does_not_stop_the_next_one(pair):
    one, two = pair()
    ann = await person(one.store.users, "ann")
    chat_id = new_chat_id()
    await answered(one, await post(one, ann, chat_id))
    await two.conversations.stop(ann, chat_id)  # a moment too late: nothing is being written
    following = await answered(one, await post(one, ann, chat_id, "How do I port my number?"))
    assert following.status == "complete"

"""Nothing lost, against the real database server: replays, queued questions, provider faults,
a database that stops answering, and the live route a reconnecting page resumes."""

from __future__ import annotations

import asyncio
import gzip
import json
import uuid

import pytest

from chatapp.live import _events, _gzip
from chatapp.services.chat import STORE_DOWN, SendRejected
from chatapp.services.llm.openrouter import OpenRouterProvider, make_client
from chatapp.services.store import Store
from chatapp.services.threads import Threads
from tests.fakes.fake_openrouter import FakeOpenRouter, cut, hang, midstream_error, status
from tests.integration.test_chat_turns import make_chat
from tests.servers import DatabaseServer

QUESTION = "How do I reset my password?"


@pytest.fixture(scope="module")
def fake():
    with FakeOpenRouter(text="Reset it from the sign-in page. " * 10, chunk_size=8, delay=0.002) as server:
        yield server


def provider(fake, budget=3.0):
    return OpenRouterProvider(api_key="k", base_url=fake.base_url, models=("model/a",),
                              client=make_client(read_timeout=1), total_budget=budget,
                              max_retry_after=0.2)


async def test_a_replay_stores_nothing_new_and_starts_no_second_answer(threads):
    chat = make_chat(threads)
    thread, question, created = await chat.ask("o1", None, QUESTION, "cid-1")
    await chat.complete(question)
    again_thread, again, created_again = await chat.ask("o1", None, QUESTION, "cid-1")
    assert created and not created_again
    assert (again_thread.id, again.id) == (thread.id, question.id)
    assert await chat.answered(again)
    assert len(await threads.list("o1")) == 1
    assert [m.role for m in await threads.messages("o1", thread.id)] == ["user", "assistant"]


async def test_questions_sent_in_a_row_are_answered_in_order_each_once(threads):
    chat = make_chat(threads)
    thread, first, _ = await chat.ask("o2", None, QUESTION, "q1")
    await chat.start(first)
    later = []
    for number, text in enumerate(["How do I port my number?", "What plans do you offer?"], 2):
        _, question, _ = await chat.ask("o2", thread.id, text, f"q{number}")
        await chat.start(question)
        later.append(question)
    assert await chat.busy("o2", thread.id)
    while await chat.busy("o2", thread.id):
        await (await chat.running("o2", thread.id)).saved.wait()
    stored = await threads.messages("o2", thread.id)
    assert [(m.role, m.client_id) for m in stored] == [
        ("user", "q1"), ("assistant", "q1:answer"), ("user", "q2"), ("assistant", "q2:answer"),
        ("user", "q3"), ("assistant", "q3:answer")]
    assert [m.id for m in await chat.cache.history("o2", thread.id)] == [m.id for m in stored]


@pytest.mark.parametrize("behaviour, status_kept", [
    (status(429, retry_after=0.1), None),
    (status(500), None),
    (hang(5), None),
    (midstream_error(after_chars=40), "failed"),
    (cut(after_chars=40), "failed"),
])
async def test_provider_faults_keep_the_question_and_store_no_made_up_text(
        threads, fake, behaviour, status_kept):
    fake.script("model/a", behaviour)  # one model, tried once
    chat = make_chat(threads, provider(fake))
    owner = f"o-{uuid.uuid4().hex[:6]}"
    thread, question, _ = await chat.ask(owner, None, QUESTION, "f1")
    answer = await asyncio.wait_for(chat.complete(question), 10)
    assert answer.error
    stored = await threads.messages(owner, thread.id)
    assert stored[0].content == QUESTION
    if status_kept is None:
        assert len(stored) == 1
    else:  # what the model really wrote before the fault, marked as interrupted
        assert stored[1].status == status_kept and fake.text.startswith(stored[1].content)


async def test_a_database_that_stops_answering_refuses_the_message_clearly():
    server = DatabaseServer().start()
    store = Store(server.uri, "down", timeout_ms=500)
    threads = Threads(store.db)
    await threads.ensure_indexes()
    chat = make_chat(threads)
    server.stop()
    try:
        with pytest.raises(SendRejected, match="could not be saved") as refused:
            await chat.ask("o3", None, QUESTION, "d1")
        assert str(refused.value) == STORE_DOWN
    finally:
        store.close()


async def test_the_live_route_resumes_from_the_offset_a_reconnecting_page_reports(threads):
    chat = make_chat(threads)
    thread, question, _ = await chat.ask("o4", None, QUESTION, "l1")
    await chat.start(question)
    answer = await chat.running("o4", thread.id)
    first = [event async for event in _take(_events(answer, 0), 2)]
    resumed_at = int(first[1].split("id: ")[1].split("\n")[0])
    rest = [event async for event in _events(answer, resumed_at)]
    assert rest[-1].startswith("event: done")
    text = "".join(_data(e) for e in first + rest if e.startswith("id: "))
    assert text == answer.text and answer.message.content == text


async def test_the_live_route_is_gzipped_as_it_goes(threads):
    chat = make_chat(threads)
    thread, question, _ = await chat.ask("o5", None, QUESTION, "g1")
    await chat.start(question)
    body = b"".join([part async for part in _gzip(_events(await chat.running("o5", thread.id), 0))])
    plain = gzip.decompress(body).decode()
    assert plain.startswith("retry: 1000") and plain.rstrip().endswith('data: {"error": ""}')


async def _take(events, count):
    async for event in events:
        yield event
        count -= 1
        if count == 0:
            return


def _data(event: str) -> str:
    return json.loads(event.split("data: ", 1)[1])



async def test_shutdown_lets_answers_finish_within_the_grace_then_keeps_the_rest_as_interrupted(
        threads, fake):
    chat = make_chat(threads, provider(fake, budget=10))
    fake.delay = 0.05  # 40 chunks: about 2 s
    try:
        quick_thread, quick, _ = await chat.ask("o6", None, "Hello, a quick one?", "s1")
        slow_thread, slow, _ = await chat.ask("o6", None, QUESTION, "s2")
        await chat.start(quick)
        await chat.drain(5)
        assert (await threads.messages("o6", quick_thread.id))[-1].status == "complete"

        chat.closing = False
        await chat.start(slow)
        await asyncio.sleep(0.5)
        await chat.drain(0.1)
    finally:
        fake.delay = 0.002
    kept = (await threads.messages("o6", slow_thread.id))[-1]
    assert kept.role == "assistant" and kept.status == "failed"
    assert kept.content and fake.text.startswith(kept.content) and kept.content != fake.text
    with pytest.raises(SendRejected, match="restarting"):
        await chat.ask("o6", slow_thread.id, "Anyone there?", "s3")


async def test_a_stream_opened_with_the_question_gets_its_answer_once_it_starts(threads):
    chat = make_chat(threads)
    thread, question, _ = await chat.ask("o7", None, QUESTION, "early-1")
    waiting = asyncio.create_task(chat.answer_for("o7", "early-1", 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # asked before the answer exists: it waits
    await chat.start(question)
    answer = await asyncio.wait_for(waiting, 2)
    assert answer is await chat.running("o7", thread.id)
    assert await chat.answer_for("intruder", "early-1", 0.2) is None  # another user's id: never
    await answer.saved.wait()


async def test_a_question_started_twice_at_once_is_answered_once(threads, fake):
    """Two tabs can replay the same question before either has started its answer."""
    chat = make_chat(threads, provider(fake))
    thread, question, _ = await chat.ask("o8", None, QUESTION, "twice-1")
    calls = len(fake.requests)
    await chat.start(question)
    await chat.start(question)
    await (await chat.running("o8", thread.id)).saved.wait()
    assert not await chat.busy("o8", thread.id)
    assert len(fake.requests) - calls == 1
    assert [m.role for m in await threads.messages("o8", thread.id)] == ["user", "assistant"]

"""Nothing lost, against the real database server: questions in a row, provider faults, a
database that stops answering, shutdown, double starts, checkpoints, interrupted answers and Stop."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from bson import ObjectId

from chatapp.models import AGENT
from chatapp.services.assistant import INTERRUPTED
from chatapp.services.conversations import STORE_DOWN, SendRejected
from chatapp.services.llm.openrouter import BUSY
from chatapp.services.llm.openrouter import INTERRUPTED as BROKE_OFF
from chatapp.services.store import Store, now
from chatapp.services.threads import WRITING, Threads
from tests.fakes.fake_openrouter import cut, hang, midstream_error, status
from tests.integration.conftest import ANSWER, QUESTION, asked, eventually, wire
from tests.servers import DatabaseServer

IN_A_ROW = [QUESTION, "How do I port my number?", "What plans do you offer?"]


async def writing(worker, question):
    """The answer's copy in the database once it holds some text and is still being written."""
    async def kept():
        answer = await worker.threads.answer_to(question.owner, question.client_id)
        return answer if answer and answer.status == WRITING and answer.content else None
    return await eventually(kept, 10, "a checkpoint of the answer")


async def test_questions_sent_in_a_row_are_answered_in_order_each_once_under_its_question(
        workers, model, fake):
    fake.delay = 0.01
    worker = workers(provider=model(("model/a",)))
    ann = await worker.person("ann")
    thread, *_ = await worker.ask(ann, IN_A_ROW[0], client_id="q0")
    for number, text in enumerate(IN_A_ROW[1:], 1):
        await worker.ask(ann, text, chat_id=thread.id, client_id=f"q{number}")
    assert worker.assistant.busy(thread.id)
    await eventually(lambda: not worker.assistant.busy(thread.id), 15, "the three answers")
    stored = await worker.threads.messages(ann.id, thread.id)
    assert [(m.role, m.client_id) for m in stored] == [
        ("user", "q0"), ("assistant", "q0:answer"), ("user", "q1"), ("assistant", "q1:answer"),
        ("user", "q2"), ("assistant", "q2:answer")]
    assert all(m.content == ANSWER and m.status == "complete" for m in stored if m.role == "assistant")
    assert [m.id for m in await worker.cache.history(ann.id, thread.id)] == [m.id for m in stored]
    # each answer was asked for once, in order, with only the turns that came before it
    assert [asked(request["messages"][-1]["content"]) for request in fake.requests] == IN_A_ROW
    for number, request in enumerate(fake.requests):
        earlier = [m["content"] for m in request["messages"] if m["role"] == "user"][:-1]
        assert earlier == IN_A_ROW[:number], f"answer {number} was sent later questions"


@pytest.mark.parametrize("fault, kept, error", [
    (status(429, retry_after=0.1), "", BUSY),
    (status(500), "", BUSY),
    (hang(5), "", BUSY),
    (hang(5, after_chars=40), ANSWER[:40], BROKE_OFF),
    (midstream_error(after_chars=40), ANSWER[:40], BROKE_OFF),
    (cut(after_chars=40), ANSWER[:40], BROKE_OFF),
], ids=["429", "500", "hang", "hang-after-text", "midstream-error", "cut"])
async def test_provider_faults_keep_the_question_and_store_only_what_the_model_wrote(
        workers, model, fake, fault, kept, error):
    fake.script("model/a", fault)  # one model, tried once
    worker = workers(provider=model(("model/a",), budget=3, read_timeout=1))
    ann = await worker.person("ann")
    thread, question, _ = await worker.ask(ann, QUESTION)
    await worker.answered(question)
    stored = await worker.threads.messages(ann.id, thread.id)
    assert [(m.role, m.content) for m in stored] == [("user", QUESTION), ("assistant", kept)]
    assert (stored[1].status, stored[1].error) == ("failed", error)


async def test_a_database_that_stops_answering_refuses_messages_with_the_store_down_sentence():
    server = DatabaseServer().start()
    store = Store(server.uri, "down", timeout_ms=500)
    try:
        await Threads(store.db).ensure_indexes()
        worker = wire(store)
        ann, alex = await worker.person("ann"), await worker.person("alex", AGENT)
        thread, question, _ = await worker.ask(ann, QUESTION)
        await worker.answered(question)
        server.stop()
        with pytest.raises(SendRejected) as refused:
            await worker.ask(ann, "Are you there?", chat_id=thread.id)
        assert str(refused.value) == STORE_DOWN
        with pytest.raises(SendRejected) as refused_reply:
            await worker.conversations.reply(alex, thread.id, "I am here.", "r1")
        assert str(refused_reply.value) == STORE_DOWN
        await worker.assistant.drain(1)
    finally:
        store.close()
        server.stop()


async def test_shutdown_lets_answers_finish_within_the_grace_and_keeps_the_rest_as_interrupted(
        workers, model, fake):
    worker = workers(provider=model(("model/a",), budget=10, read_timeout=5))
    ann = await worker.person("ann")
    fake.delay = 0.2  # 40 chunks: about 8 s
    _, slow, _ = await worker.ask(ann, QUESTION)
    await writing(worker, slow)
    fake.delay = 0.02  # about 1 s
    quick_chat, quick, _ = await worker.ask(ann, QUESTION)
    await writing(worker, quick)
    assert worker.assistant.busy(quick_chat.id)
    started = time.monotonic()
    await worker.assistant.drain(2)
    assert time.monotonic() - started < 3
    finished = await worker.threads.answer_to(ann.id, quick.client_id)
    assert (finished.status, finished.content) == ("complete", ANSWER)
    cut_off = await worker.threads.answer_to(ann.id, slow.client_id)
    assert (cut_off.status, cut_off.error) == ("failed", INTERRUPTED)
    assert cut_off.content and ANSWER.startswith(cut_off.content) and cut_off.content != ANSWER
    with pytest.raises(SendRejected, match="restarting"):
        await worker.ask(ann, "Anyone there?")


async def test_a_question_started_twice_at_once_on_two_workers_is_answered_once(
        workers, model, fake):
    one, two = workers(provider=model()), workers(provider=model())
    ann = await one.person("ann")
    thread = await one.threads.create(ann.id, QUESTION)
    question, _ = await one.threads.add_message(ann.id, thread.id, "user", QUESTION,
                                                client_id="twice", status="sent")
    await asyncio.gather(one.assistant.start(question), one.assistant.start(question),
                         two.assistant.start(question))
    answer = await one.answered(question)
    assert answer.content == ANSWER and len(fake.requests) == 1
    assert [m.role for m in await one.threads.messages(ann.id, thread.id)] == ["user", "assistant"]


async def test_an_answer_being_written_is_kept_in_the_database_as_it_grows(workers, model, fake):
    fake.delay = 0.06  # 40 chunks: about 2.5 s
    worker = workers(provider=model(("model/a",), read_timeout=5))
    ann = await worker.person("ann")
    _, question, _ = await worker.ask(ann, QUESTION)
    first = await writing(worker, question)

    async def grown():
        answer = await worker.threads.answer_to(ann.id, question.client_id)
        return answer.status == WRITING and len(answer.content) > len(first.content)
    await eventually(grown, 5, "a second, longer checkpoint before the end")
    assert ANSWER.startswith(first.content) and len(first.content) < len(ANSWER)
    assert (await worker.answered(question)).content == ANSWER


async def test_an_answer_whose_writer_went_away_reads_as_failed_and_retry_answers_it_again(
        worker, store):
    ann = await worker.person("ann")
    thread = await worker.threads.create(ann.id, QUESTION)
    question, _ = await worker.threads.add_message(ann.id, thread.id, "user", QUESTION,
                                                   client_id="q", status="sent")
    lost, _ = await worker.threads.add_message(ann.id, thread.id, "assistant", "",
                                               client_id="q:answer", status=WRITING)
    await worker.threads.write_answer(lost.id, "To reset your pass", "0")
    assert (await worker.threads.answer_to(ann.id, "q")).status == WRITING  # its lease holds
    expired = int((now() - timedelta(seconds=1)).timestamp() * 1000)  # the worker died: no renewal
    await store.db["messages"].update_one({"_id": ObjectId(lost.id)}, {"$set": {"lease_until": expired}})
    interrupted = await worker.threads.answer_to(ann.id, "q")
    assert (interrupted.status, interrupted.content) == ("failed", "To reset your pass")
    assert worker.feed.rows([interrupted])[0]["status"] == "failed"

    await worker.conversations.retry(ann, thread.id)
    answer = await worker.answered(question)
    assert answer.id == lost.id and answer.status == "complete" and "password" in answer.content.lower()
    assert [m.role for m in await worker.threads.messages(ann.id, thread.id)] == ["user", "assistant"]
    await worker.conversations.retry(ann, thread.id)  # a complete answer is left alone
    assert (await worker.threads.answer_to(ann.id, "q")).id == answer.id


async def test_stop_keeps_the_partial_answer_marked_stopped(workers, model, fake):
    fake.delay = 0.05
    worker = workers(provider=model(("model/a",), read_timeout=5))
    ann = await worker.person("ann")
    thread, question, _ = await worker.ask(ann, QUESTION)
    await writing(worker, question)
    await worker.conversations.stop(ann, thread.id)
    answer = await worker.answered(question, within=2)
    assert answer.status == "stopped" and not answer.error
    assert answer.content and ANSWER.startswith(answer.content) and len(answer.content) < len(ANSWER)

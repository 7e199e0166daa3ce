"""The support team: handoff, claim, replies, close and reopen, assignment, role checks, what
the customer is told while waiting, and the team's queue and search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatapp.models import ACTIVITY, AGENT, ASSIGNED, BOT, CLOSED, WAITING
from chatapp.services.conversations import NotAllowed, ThreadNotFound, asks_for_person
from chatapp.services.presence import ONLINE
from tests.integration.conftest import OFF_TOPIC, QUESTION, Clock, eventually

WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
HOURS = "Mon-Fri 09:00-17:00"


async def activities(worker, thread) -> list[str]:
    return [m.content for m in await worker.threads.messages(thread.owner, thread.id) if m.role == ACTIVITY]


async def no_answer_started(worker, question) -> bool:
    return await worker.threads.answer_to(question.owner, question.client_id) is None \
        and not worker.assistant.busy(question.chat_id)


async def test_a_conversation_goes_from_the_assistant_to_an_agent_and_back_to_the_same_agent(worker):
    ann, alex = await worker.person("ann"), await worker.person("alex", AGENT)
    conversations = worker.conversations
    thread, first, _ = await worker.ask(ann, QUESTION)
    await worker.answered(first)
    _, off_topic, _ = await worker.ask(ann, OFF_TOPIC, chat_id=thread.id)
    declined = await worker.answered(off_topic)
    assert declined.declined and declined.sources == () and declined.status == "complete"

    waiting = await conversations.request_person(ann, thread.id)
    assert waiting.status == WAITING and waiting.waiting_since == worker.clock.now
    assert await activities(worker, thread) == ["Handed over to the support team."]

    async def summary() -> str:
        return (await worker.threads.get_any(thread.id)).summary
    written = await eventually(summary, 5, "the hand-off summary")
    assert f"**Wants:** {OFF_TOPIC}" in written and f"**Asked before:** {QUESTION}" in written
    assert "citing Resetting your password" in written
    assert f"**It could not answer:** {OFF_TOPIC}" in written

    claimed = await conversations.claim(alex, thread.id)
    assert (claimed.status, claimed.assignee, claimed.assignee_name) == (ASSIGNED, alex.id, "Alex")
    assert claimed.notice == "Alex from Support is with you."
    assert (await activities(worker, thread))[-1] == "Alex from Support joined."
    worker.clock.advance(minutes=3)
    replied, reply, created = await conversations.reply(alex, thread.id, "Hi Ann, I can help.", "r1")
    assert created and (reply.role, reply.author, reply.content) == ("agent", "Alex", "Hi Ann, I can help.")
    assert replied.first_human_reply_at == worker.clock.now and not replied.team_unread

    _, follow_up, _ = await worker.ask(ann, "It still does not work.", chat_id=thread.id)
    assert await no_answer_started(worker, follow_up)  # a person has it: the assistant stays out
    assert (await worker.threads.get_any(thread.id)).team_unread
    await conversations.mark_read(alex, thread.id)
    assert not (await worker.threads.get_any(thread.id)).team_unread

    closed = await conversations.close(alex, thread.id)
    assert closed.status == CLOSED and closed.closed_at == worker.clock.now
    assert (await activities(worker, thread))[-1] == "Alex closed the conversation."
    reopened, again, _ = await worker.ask(ann, "Sorry, one more thing.", chat_id=thread.id)
    assert (reopened.status, reopened.assignee) == (ASSIGNED, alex.id) and reopened.team_unread
    assert (await activities(worker, thread))[-1] == "The conversation was reopened."
    assert await no_answer_started(worker, again)

    await conversations.close(alex, thread.id)
    await worker.users.update(alex.id, {"active": False})  # Alex left the team
    back_in_queue, _, _ = await worker.ask(ann, "Hello? Anyone?", chat_id=thread.id)
    assert (back_in_queue.status, back_in_queue.assignee) == (WAITING, "")


async def test_an_agent_assigns_to_another_and_hands_back_to_the_assistant(worker):
    ann = await worker.person("ann")
    alex, bo = await worker.person("alex", AGENT), await worker.person("bo", AGENT)
    conversations = worker.conversations
    thread, request, _ = await worker.ask(ann, "agent please")  # asked in words: to the queue
    assert thread.status == WAITING and await no_answer_started(worker, request)
    await conversations.claim(alex, thread.id)
    assigned = await conversations.assign(alex, thread.id, bo.id)
    assert (assigned.status, assigned.assignee, assigned.assignee_name) == (ASSIGNED, bo.id, "Bo")
    assert (await activities(worker, thread))[-1] == "Alex assigned the conversation to Bo."
    with pytest.raises(NotAllowed, match="support team"):
        await conversations.assign(alex, thread.id, ann.id)

    handed_back = await conversations.hand_back(bo, thread.id)
    assert (handed_back.status, handed_back.assignee) == (BOT, "")
    assert (await activities(worker, thread))[-1] == "Bo handed the conversation back to the assistant."
    _, question, _ = await worker.ask(ann, QUESTION, chat_id=thread.id)
    assert (await worker.answered(question)).status == "complete"


@pytest.mark.parametrize("text, asks", [
    ("can I talk to someone", True), ("agent please", True), ("human", True),
    ("I want to speak with a real person", True), ("how do I transfer calls to a human?", False),
    ("what does the agent say when closed?", False),
])
def test_asking_for_a_person_is_told_from_questions_about_people(text, asks):
    assert asks_for_person(text) is asks


async def test_only_the_active_team_moves_conversations_and_sees_everyone_s(worker):
    ann, bob = await worker.person("ann"), await worker.person("bob")
    alex, gone = await worker.person("alex", AGENT), await worker.person("gone", AGENT)
    gone = await worker.users.update(gone.id, {"active": False})
    thread, _, _ = await worker.ask(ann, "can I talk to someone")
    conversations = worker.conversations
    actions = [
        lambda who: conversations.claim(who, thread.id),
        lambda who: conversations.assign(who, thread.id, alex.id),
        lambda who: conversations.hand_back(who, thread.id),
        lambda who: conversations.reply(who, thread.id, "I am support, honest.", "fake-reply"),
        lambda who: conversations.queue(who),
        lambda who: conversations.search(who, "ann"),
        lambda who: conversations.mark_read(who, thread.id),
    ]
    for who in (ann, bob, gone):
        for action in actions:
            with pytest.raises(NotAllowed):
                await action(who)
    assert (await conversations.visible(alex, thread.id)).owner == ann.id
    assert (await conversations.visible(ann, thread.id)).id == thread.id
    with pytest.raises(ThreadNotFound):
        await conversations.visible(bob, thread.id)
    with pytest.raises(ThreadNotFound):
        await conversations.visible(gone, thread.id)
    assert (await worker.threads.get_any(thread.id)).status == WAITING  # nothing moved it


@pytest.mark.parametrize("when, back", [
    (datetime(2026, 12, 2, 20, 0, tzinfo=UTC), "back tomorrow at 09:00"),  # Wednesday evening
    (datetime(2026, 12, 4, 18, 0, tzinfo=UTC), "back on Monday at 09:00"),  # Friday evening
    (datetime(2026, 12, 3, 7, 30, tzinfo=UTC), "back today at 09:00"),  # Thursday morning
])
async def test_outside_support_hours_the_customer_is_told_when_the_team_is_back(workers, when, back):
    worker = workers(clock=Clock(when), hours=HOURS)
    await worker.presence.mark((await worker.person("alex", AGENT)).id, ONLINE)
    ann = await worker.person("ann")
    thread, _, _ = await worker.ask(ann, "human")
    assert back in thread.notice and "in the queue" in thread.notice


async def test_within_hours_the_notice_says_who_is_online_and_how_long_the_team_takes(workers):
    worker = workers(clock=Clock(WEDNESDAY_NOON), hours=HOURS)
    ann, alex = await worker.person("ann"), await worker.person("alex", AGENT)
    nobody, _, _ = await worker.ask(ann, "human")
    assert nobody.notice.startswith("No one from the team is online right now.")

    await worker.presence.mark(alex.id, ONLINE)
    first, _, _ = await worker.ask(ann, "human")
    assert first.notice == "You're in the queue. A person from the team will reply here shortly."
    worker.clock.advance(minutes=4)  # both answered four minutes after their handoff
    for thread in (nobody, first):
        await worker.conversations.reply(alex, thread.id, "Hello, Alex here.", f"hi-{thread.id}")
    later, _, _ = await worker.ask(ann, "human")
    assert later.notice == "You're in the queue; the team usually replies within 4 minutes."


async def test_the_team_queue_lists_open_and_recently_closed_conversations_and_search_finds_them(
        worker):
    ann, bob = await worker.person("ann"), await worker.person("bob")
    alex = await worker.person("alex", AGENT)
    waiting, _, _ = await worker.ask(ann, "agent please")
    assigned, _, _ = await worker.ask(bob, "can I talk to someone")
    await worker.conversations.claim(alex, assigned.id)
    closed, _, _ = await worker.ask(bob, "human")
    await worker.conversations.close(alex, closed.id)
    with_the_bot, question, _ = await worker.ask(ann, "My voicemail greeting sounds robotic")
    await worker.answered(question)

    queue = {t.id: t.status for t in await worker.conversations.queue(alex)}
    assert queue == {waiting.id: WAITING, assigned.id: ASSIGNED, closed.id: CLOSED}
    search = worker.conversations.search
    assert {t.id for t in await search(alex, "ANN")} == {waiting.id, with_the_bot.id}  # her name
    assert {t.id for t in await search(alex, "bob@exa")} == {assigned.id, closed.id}  # email
    assert [t.id for t in await search(alex, "greeting sounds")] == [with_the_bot.id]  # a message
    assert await search(alex, "   ") == []

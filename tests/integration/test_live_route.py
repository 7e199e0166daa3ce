"""GET /api/conversations/<id>/events and GET /api/inbox/events through the real routes
(chatapp.api.api) and services built by runtime.build, read as a page reads them."""

from __future__ import annotations

import asyncio
import zlib

import pytest

from chatapp.models import AGENT
from tests.integration.conftest import (
    ANSWER,
    OFF_TOPIC,
    QUESTION,
    Page,
    answered,
    client,
    deltas,
    events_path,
    eventually,
    finished,
    new_chat_id,
)


async def conversation_with_a_turn(browser) -> str:
    chat_id = new_chat_id()
    await answered(browser.services, await browser.say(chat_id, QUESTION))
    return chat_id


async def test_a_snapshot_then_the_answer_as_deltas_that_add_up_to_the_stored_text(app, sign_in):
    ann = await sign_in(app, "ann")
    chat_id = await conversation_with_a_turn(ann)
    async with ann.events(chat_id) as stream:
        snapshot = await stream.next()
        assert snapshot["type"] == "snapshot" and snapshot["conversation"]["id"] == chat_id
        assert [(m["role"], m["status"]) for m in snapshot["messages"]] == [
            ("user", "sent"), ("assistant", "complete")]
        assert snapshot["messages"][1]["sources"][0]["slug"] == "reset-password"
        assert "summary" not in snapshot  # the team's note is not the customer's
        question = await ann.say(chat_id, "How do I port my number?")
        events = await stream.until(finished)
    answer = await app.threads.answer_to(ann.user.id, question.client_id)
    pieces = [e for e in events if e["type"] == "delta"]
    assert pieces and {e["id"] for e in pieces} == {answer.id}
    assert "".join(e["text"] for e in pieces) == answer.content == ANSWER
    assert [e["at"] for e in pieces] == [sum(len(p["text"]) for p in pieces[:n]) for n in range(len(pieces))]
    page = Page().apply(snapshot, *events)
    stored = await app.threads.messages(ann.user.id, chat_id)
    assert [m["id"] for m in page.messages] == [m.id for m in stored]
    assert (page.answer()["content"], page.answer()["status"]) == (ANSWER, "complete")


@pytest.mark.parametrize("resume", ["Last-Event-ID", "after"])
async def test_a_reconnecting_page_resumes_after_the_last_event_it_saw(app, sign_in, fake, resume):
    fake.delay = 0.02
    ann = await sign_in(app, "ann")
    chat_id = await conversation_with_a_turn(ann)
    async with ann.events(chat_id) as stream:
        snapshot = await stream.next()
        question = await ann.say(chat_id, "How do I port my number?")
        before = await stream.until(deltas(3))
        last_seen = stream.last_id
    where = {"headers": {"Last-Event-ID": last_seen}} if resume == "Last-Event-ID" else {
        "params": {"after": last_seen}}
    async with ann.events(chat_id, **where) as stream:
        after = await stream.until(finished)
    assert after[0]["type"] == "delta"  # no snapshot, nothing seen twice
    shown = "".join(e["text"] for e in before if e["type"] == "delta")
    assert after[0]["at"] == len(shown)
    answer = await app.threads.answer_to(ann.user.id, question.client_id)
    assert shown + "".join(e["text"] for e in after if e["type"] == "delta") == answer.content == ANSWER
    assert Page().apply(snapshot, *before, *after).answer()["content"] == ANSWER


async def test_a_page_that_joins_mid_answer_ends_with_exactly_the_stored_text(app, sign_in, fake):
    fake.delay = 0.03
    ann = await sign_in(app, "ann")
    chat_id = new_chat_id()
    question = await ann.say(chat_id, QUESTION)

    async def written(count: int) -> bool:
        return sum(e["type"] == "delta" for _, e in await app.events.read(chat_id, "0", 0)) >= count
    await eventually(lambda: written(4), 5, "four deltas")
    async with ann.events(chat_id) as stream:
        snapshot = await stream.next()
        events = await stream.until(finished)
    joined = Page().apply(snapshot).answer()
    assert joined["status"] == "writing" and 0 < len(joined["content"]) < len(ANSWER)
    replayed = [e for e in events if e["type"] == "delta"]
    assert replayed[0]["at"] < len(joined["content"])  # the replay overlaps what the snapshot held
    stored = await app.threads.answer_to(ann.user.id, question.client_id)
    assert Page().apply(snapshot, *events).answer()["content"] == stored.content == ANSWER


async def test_the_stream_is_gzipped_when_asked_and_each_event_arrives_whole_at_once(app, sign_in):
    ann = await sign_in(app, "ann")
    chat_id = await conversation_with_a_turn(ann)
    response = await ann.open(events_path(chat_id), headers={"Accept-Encoding": "gzip"})
    try:
        assert response.headers["content-encoding"] == "gzip"
        inflate, raw, text = zlib.decompressobj(31), b"", ""
        async for chunk in response.aiter_raw():  # the stream never ends: read until the snapshot
            raw += chunk
            text += inflate.decompress(chunk).decode()
            if '"type":"snapshot"' in text and text.endswith("\n\n"):
                break
        assert raw.startswith(b"\x1f\x8b") and len(raw) < len(text)
    finally:
        await response.aclose()
    plain = await ann.open(events_path(chat_id), headers={"Accept-Encoding": "identity"})
    try:
        assert "content-encoding" not in plain.headers
        assert plain.headers["content-type"].startswith("text/event-stream")
    finally:
        await plain.aclose()


async def test_no_session_is_refused_with_401_and_a_malformed_id_with_404(app, sign_in):
    ann = await sign_in(app, "ann")
    chat_id = await conversation_with_a_turn(ann)
    name = app.settings.cookie_name
    for cookies in (None, {name: "not-a-token"}):
        async with client(cookies) as anonymous:
            assert (await anonymous.get(events_path(chat_id))).status_code == 401
    for malformed in ("x", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0"):
        assert (await ann.client.get(events_path(malformed))).status_code == 404


async def test_another_customers_conversation_never_yields_an_event(app, sign_in):
    ann, bob = await sign_in(app, "ann"), await sign_in(app, "bob")
    chat_id = await conversation_with_a_turn(ann)
    async with bob.events(chat_id) as stream:
        await ann.say(chat_id, "How do I port my number?")  # her conversation moves meanwhile
        assert not await stream.ended(1.5)  # and nothing of it reaches Bob


async def test_a_new_chats_stream_opened_before_its_first_message_shows_it_once_posted(app, sign_in):
    ann = await sign_in(app, "ann")
    chat_id = new_chat_id()
    async with ann.events(chat_id) as stream:
        await ann.say(chat_id, QUESTION)
        snapshot = await stream.next()
        events = await stream.until(finished)
    assert snapshot["type"] == "snapshot" and snapshot["conversation"]["id"] == chat_id
    assert snapshot["messages"][0]["content"] == QUESTION
    assert all(e["type"] != "snapshot" for e in events)
    assert Page().apply(snapshot, *events).answer()["content"] == ANSWER


async def test_logging_out_or_being_deactivated_ends_open_streams_within_two_seconds(app, sign_in):
    ann, alex = await sign_in(app, "ann"), await sign_in(app, "alex", AGENT)
    chat_id = await conversation_with_a_turn(ann)
    async with ann.events(chat_id) as watching, ann.events(new_chat_id()) as waiting, \
            alex.events(chat_id) as agent:
        await watching.next()
        assert "summary" in await agent.next()  # the team may open any conversation
        await app.accounts.log_out(ann.token)
        await app.store.users.update(alex.user.id, {"active": False})
        assert await asyncio.gather(watching.ended(2.5), waiting.ended(2.5), agent.ended(2.5)) == [
            True, True, True]


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_more_streams_than_allowed_are_refused_with_429_and_retry_after(
        apps, sign_in, redis_server, redis, backend):
    app = apps(MAX_STREAMS_PER_USER="3", **({"REDIS_URL": redis_server.url} if backend == "redis" else {}))
    ann, bob = await sign_in(app, "ann"), await sign_in(app, "bob")
    streams = [await ann.open(events_path(new_chat_id())) for _ in range(3)]
    try:
        assert [s.status_code for s in streams] == [200, 200, 200]
        refused = await ann.client.get(events_path(new_chat_id()))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        async with bob.events(new_chat_id()):  # the cap is per user
            pass
        await streams.pop().aclose()  # a tab closed frees its slot
        streams.append(await ann.open(events_path(new_chat_id())))
        assert streams[-1].status_code == 200
    finally:
        for stream in streams:
            await stream.aclose()


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_malformed_ids_and_offsets_never_answer_500(apps, sign_in, redis_server, redis, backend):
    app = apps(**({"REDIS_URL": redis_server.url} if backend == "redis" else {}))
    ann = await sign_in(app, "ann")
    chat_id = await conversation_with_a_turn(ann)
    assert (await ann.client.get("/api/conversations/x/events?after=%C2%B2")).status_code == 404
    offsets = ["%C2%B2", "1-%C2%B2", "-1", "0-", "abc", "0-0", "1-0-0", "%00", "1" * 5000,
               "99999999999999999999-0", "1-99999999999999999999", "9" * 24 + "-1"]
    for offset in offsets:  # each is read as "start from the record": a snapshot
        async with ann.stream(f"{events_path(chat_id)}?after={offset}") as stream:
            assert (await stream.next())["type"] == "snapshot", offset
    for header in ("²".encode(), b"x" * 300, b"zzzzzz-99", b"99999999999999999999-0"):
        async with ann.events(chat_id, headers={"Last-Event-ID": header}) as stream:
            assert (await stream.next())["type"] == "snapshot", header


async def test_the_team_inbox_lists_the_queue_and_shows_a_handoff_as_it_happens(app, sign_in):
    ann, alex = await sign_in(app, "ann"), await sign_in(app, "alex", AGENT)
    assert (await ann.client.get("/api/inbox/events")).status_code == 403
    async with alex.stream("/api/inbox/events") as inbox:
        snapshot = await inbox.next()
        assert snapshot["type"] == "snapshot" and snapshot["rows"] == []
        assert {"id": alex.user.id, "name": "Alex", "role": AGENT, "presence": "online"} in snapshot["team"]
        chat_id = new_chat_id()
        await answered(app, await ann.say(chat_id, OFF_TOPIC))
        await app.conversations.request_person(ann.user, chat_id)
        row = (await inbox.until(lambda e: e["type"] == "queue"))[-1]["row"]
    assert (row["id"], row["status"], row["customer"], row["unread"]) == (chat_id, "waiting", "ann", True)

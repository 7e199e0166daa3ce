"""Insights, feedback, knowledge gaps, exports and transcripts against the real nx-27017 server.

Most tests seed a fixed set of conversations written the way threads.py and feedback.py write
them, at fixed times, and check every figure against numbers worked out by hand (below, beside
each conversation). One test drives the real services end to end, so the fields the pipelines
match on are the ones the services really write.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from chatapp.models import ADMIN, AGENT, ASSISTANT, CLOSED, CUSTOMER, GUEST, USER, User
from chatapp.services.conversations import NotAllowed, ThreadNotFound
from chatapp.services.feedback import AnswerNotFound, Feedback, InvalidFeedback
from chatapp.services.insights import (
    DAY_MS,
    Insights,
    InvalidPeriod,
    Period,
    conversations_pipeline,
    day_index,
)
from chatapp.services.knowledge.articles import seed_id
from chatapp.services.knowledge.safety import problems
from chatapp.services.threads import ANSWER_SUFFIX, REPORTING, Threads, citation_events, gap_event
from chatapp.services.transcript import Transcripts
from tests.integration.conftest import KNOWLEDGE, OFF_TOPIC, QUESTION, Clock, new_chat_id
from tests.servers import ROOT

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # a Monday afternoon
WEEK = Period(date(2026, 11, 24), date(2026, 11, 30))  # Period.last(7) at NOW


def team_member(role: str = AGENT, active: bool = True) -> User:
    return User(id=str(ObjectId()), username=role, email=f"{role}@example.com", token_version=0,
                created_at=NOW, role=role, active=active, display_name=role.capitalize())


def customer(role: str = CUSTOMER) -> User:
    return User(id=str(ObjectId()), username="cus", email="cus@example.com", token_version=0,
                created_at=NOW, role=role)


def on(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def passage(slug: str, key: str = "overview") -> str:
    return f"{seed_id(slug)}:{key}"


# The fixed set -------------------------------------------------------------------------------

@dataclass
class Turn:
    question: str
    declined: bool = False
    status: str = "complete"
    feedback: str | None = None
    reasons: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass
class Conv:
    started: datetime
    turns: list[Turn] = field(default_factory=list)
    handoff: timedelta | None = None  # after the start
    reply: timedelta | None = None  # after the handoff
    close: timedelta | None = None  # after the start
    closed_by: str = "agent"
    csat: int | None = None  # given a minute after the close
    name: str = "Ann"
    id: str = field(default_factory=new_chat_id)


def documents(conv: Conv, owner: str) -> tuple[dict, list[dict], list[dict]]:
    """The conversation, its messages and its reporting records, as threads.py and feedback.py
    store them."""
    messages, counted, records = [], [], []
    for i, turn in enumerate(conv.turns):
        asked = conv.started + timedelta(minutes=2 * i)
        client_id = f"{conv.id}-{i}"
        messages.append({"owner": owner, "chat_id": conv.id, "role": USER, "content": turn.question,
                         "status": "sent", "model": "", "client_id": client_id, "created_at": asked,
                         "created_ms": ms(asked), "sources": [], "author": "", "declined": False})
        answered = asked + timedelta(minutes=1)
        answer = {"_id": ObjectId(), "owner": owner, "chat_id": conv.id, "role": ASSISTANT,
                  "content": "" if turn.status == "failed" else f"Answer to {turn.question}",
                  "status": turn.status, "model": "helpdesk/knowledge-base",
                  "client_id": client_id + ANSWER_SUFFIX,
                  "created_at": answered, "created_ms": ms(answered), "sources": list(turn.sources),
                  "author": "", "declined": turn.declined}
        if turn.feedback:
            answer |= {"feedback": turn.feedback, "feedback_reasons": list(turn.reasons),
                       "feedback_comment": "", "feedback_at": ms(answered + timedelta(minutes=1))}
        messages.append(answer)
        if turn.status != "failed":
            counted.append(turn)
            message_id = str(answer["_id"])
            records += citation_events(message_id, conv.id, owner, ms(answered), turn.sources, turn.feedback)
            if turn.declined or turn.feedback == "down":
                records.append(gap_event(message_id, conv.id, owner, ms(answered), turn.question,
                                         declined=turn.declined, feedback=turn.feedback,
                                         reasons=turn.reasons))
    title = conv.turns[0].question if conv.turns else "Talk to a person"
    thread = {"_id": conv.id, "owner": owner, "title": title,
              "created_at": conv.started, "created_ms": ms(conv.started), "updated_at": ms(conv.started),
              "status": "bot", "customer_name": conv.name,
              "customer_email": f"{conv.name.lower()}@example.com",
              "guest": False, "asked": len(conv.turns), "answers": len(counted),
              "declines": sum(t.declined for t in counted),
              "last_declined": bool(counted and counted[-1].declined),
              "thumbs_up": sum(t.feedback == "up" for t in conv.turns),
              "thumbs_down": sum(t.feedback == "down" for t in conv.turns)}
    if conv.handoff is not None:
        handoff = conv.started + conv.handoff
        thread |= {"status": "waiting", "handoff_at": ms(handoff)}
        messages.append({"owner": owner, "chat_id": conv.id, "role": "activity", "status": "sent",
                         "content": "Handed over to the support team.", "model": "", "sources": [],
                         "client_id": f"activity:{ObjectId()}", "created_at": handoff,
                         "created_ms": ms(handoff), "author": "", "declined": False})
        if conv.reply is not None:
            replied = handoff + conv.reply
            thread |= {"status": "assigned", "assignee": "agent-alex", "assignee_name": "Alex",
                       "first_human_reply_at": ms(replied)}
            messages.append({"owner": owner, "chat_id": conv.id, "role": "agent", "status": "sent",
                             "content": "Hi, Alex here.", "model": "", "sources": [], "author": "Alex",
                             "client_id": f"reply:{ObjectId()}", "created_at": replied,
                             "created_ms": ms(replied), "declined": False})
    if conv.close is not None:
        closed = conv.started + conv.close
        thread |= {"status": CLOSED, "closed_at": ms(closed), "closed_by": conv.closed_by}
        if conv.csat is not None:
            thread |= {"csat": conv.csat, "csat_comment": "", "csat_at": ms(closed + timedelta(minutes=1))}
    return thread, messages, records


WHATSAPP, WHATSAPP_TOO = "Do you integrate with WhatsApp?", "Is there WhatsApp support?"
VAT = "Where can I download my VAT invoice?"

FIXED = [
    # The current week, 24 to 30 November --------------------------------------------------
    # C1: two answers, one rated up: resolved.
    Conv(on(24, 10), [Turn(QUESTION, feedback="up", sources=(passage("reset-password"),
                                                              passage("reset-password", "steps"))),
                      Turn("I am still locked out", sources=("sign-in-problems#2",))]),
    # C2: declined, and nothing after: not resolved.
    Conv(on(24, 11), [Turn(OFF_TOPIC, declined=True)], name="=HYPERLINK(\"http://evil\")"),
    # C3: answered, rated down: not resolved.
    Conv(on(25, 9), [Turn(VAT, feedback="down", reasons=("wrong",), sources=(passage("invoices-and-vat"),))]),
    # C4: declined, handed over 2 min later, first reply 5 min after that (300 s), closed at
    # 30 min (1800 s), CSAT 4.
    Conv(on(26, 14), [Turn(WHATSAPP, declined=True)], handoff=timedelta(minutes=2),
         reply=timedelta(minutes=5), close=timedelta(minutes=30), csat=4),
    # C5: asked for a person at once (no answer), reply after 60 s, closed at 2 h (7200 s), CSAT 2.
    Conv(on(27, 8), [], handoff=timedelta(0), reply=timedelta(seconds=60), close=timedelta(hours=2), csat=2),
    # C6: answered, rated up, closed by the customer at 10 min (600 s) ("This solved my
    # problem"), CSAT 5: resolved.
    Conv(on(30, 13), [Turn(QUESTION, feedback="up", sources=(passage("reset-password", "steps"),
                                                              passage("change-plan"), "0" * 32 + ":gone"))],
         close=timedelta(minutes=10), closed_by="customer", csat=5),
    # C7: first declined, then answered: the last answer is not a decline: resolved.
    Conv(on(28, 12), [Turn(WHATSAPP_TOO, declined=True),
                      Turn("How do I upgrade?", sources=(passage("change-plan"),))]),
    # C8: the only answer failed: nothing was answered: not resolved.
    Conv(on(29, 9), [Turn("Hello?", status="failed")]),
    # The week before, 17 to 23 November -----------------------------------------------------
    Conv(on(18, 10), [Turn(QUESTION, feedback="up", sources=(passage("reset-password"),))]),  # P1: resolved
    # P2: declined, handoff after 1 min, reply 10 min later (600 s), closed at 1 h (3600 s), CSAT 3.
    Conv(on(20, 10), [Turn(OFF_TOPIC, declined=True)], handoff=timedelta(minutes=1),
         reply=timedelta(minutes=10), close=timedelta(hours=1), csat=3),
    Conv(on(22, 10), [Turn("How do I upgrade?", sources=(passage("change-plan"),))]),  # P3: resolved
    # P4: handed over at 22:10, first reply 22:30 (1200 s, this week before), closed on the
    # 24th at 02:00: a close of the current week (14400 s).
    Conv(on(23, 22), [Turn(QUESTION, sources=(passage("reset-password"),))], handoff=timedelta(minutes=10),
         reply=timedelta(minutes=20), close=timedelta(hours=4)),
    # Earlier: counted nowhere.
    Conv(on(10, 10), [Turn(OFF_TOPIC, declined=True, feedback="down")], handoff=timedelta(minutes=1),
         reply=timedelta(minutes=1), close=timedelta(minutes=5), csat=1),
]


@pytest.fixture
async def fixed(store):
    owner = str(ObjectId())
    for conv in FIXED:
        thread, messages, records = documents(conv, owner)
        await store.db["threads"].insert_one(thread)
        await store.db["messages"].insert_many(messages)
        if records:
            await store.db[REPORTING].insert_many(records)
    return store


@pytest.fixture
def insights(store):
    return Insights(store.db, lambda: KNOWLEDGE, clock=lambda: NOW)


# The dashboard -------------------------------------------------------------------------------

async def test_every_metric_of_the_period_against_the_previous_one(fixed, insights):
    assert insights.last(7) == WEEK and WEEK.previous() == Period(date(2026, 11, 17), date(2026, 11, 23))
    overview = await insights.overview(team_member(), WEEK)
    values = {m.key: (m.value, m.previous) for m in overview.metrics}
    assert values == {
        "conversations": (8, 4),
        "customer_messages": (9, 4),  # C5 asked for a person with the button: no message
        "answers": (8, 4),  # C8's failed answer is no answer
        "resolved": (3, 2),  # C1, C6, C7; P1, P3
        "resolution_rate": (3 / 8, 2 / 4),
        "handoff_rate": (2 / 8, 2 / 4),
        "decline_rate": (3 / 8, 1 / 4),
        "thumbs_up_share": (2 / 3, 1.0),
        "csat": (11 / 3, 3.0),
        "first_reply_median": (180.0, 900.0),  # (300 + 60) / 2; (600 + 1200) / 2
        "close_median": (4500.0, 3600.0),  # 600, 1800 | 7200, 14400
    }
    assert overview.csat_scores == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert overview.dates[0] == date(2026, 11, 24) and len(overview.dates) == 7
    series = {m.key: m.series for m in overview.metrics}
    assert series["conversations"] == (2, 1, 1, 1, 1, 1, 1)
    assert series["customer_messages"] == (3, 1, 1, 0, 2, 1, 1)
    assert series["thumbs_up_share"] == (1.0, 0.0, None, None, None, None, 1.0)
    assert series["first_reply_median"] == (None, None, 300.0, 60.0, None, None, None)
    assert series["close_median"] == (14400.0, None, 1800.0, 7200.0, None, None, 600.0)
    assert series["csat"] == (None, None, 4.0, 2.0, None, None, 5.0)
    assert series["handoff_rate"] == (0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0)
    conversations, rate = overview.metric("conversations"), overview.metric("resolution_rate")
    assert (conversations.delta, conversations.change, conversations.base) == (4, 1.0, 8)
    assert rate.delta == pytest.approx(-0.125) and rate.change == pytest.approx(-0.25) and rate.better == "up"
    assert overview.metric("thumbs_up_share").base == 3 and overview.metric("csat").base == 3
    assert overview.metric("first_reply_median").base == 2
    assert overview.to_dict()["metrics"][0]["delta"] == 4


async def test_an_empty_period_has_no_rates_rather_than_zero(store, insights):
    overview = await insights.overview(team_member(ADMIN), WEEK)
    assert overview.metric("conversations").value == 0
    assert overview.metric("resolution_rate").value is None and overview.metric("csat").value is None
    assert overview.metric("first_reply_median").series == (None,) * 7
    assert overview.metric("conversations").change is None


async def test_days_are_cut_at_local_midnight_also_across_a_daylight_saving_change(store):
    paris = ZoneInfo("Europe/Paris")  # summer time ends on 25 October 2026: that day has 25 hours
    period = Period(date(2026, 10, 22), date(2026, 10, 28), paris)
    local = [datetime(2026, 10, 24, 23, 59, tzinfo=paris), datetime(2026, 10, 25, 0, 1, tzinfo=paris),
             datetime(2026, 10, 25, 23, 30, tzinfo=paris), datetime(2026, 10, 26, 0, 30, tzinfo=paris),
             datetime(2026, 10, 28, 23, 59, tzinfo=paris)]
    for when in local:
        await store.db["threads"].insert_one({"_id": new_chat_id(), "owner": "o", "created_ms": ms(when)})
    overview = await Insights(store.db, lambda: KNOWLEDGE).overview(team_member(), period)
    assert overview.metric("conversations").series == (0, 0, 1, 2, 1, 0, 1)
    boundaries = [period.midnight_ms(d) for d in period.dates()] + [period.end_ms]
    assert boundaries[4] - boundaries[3] == DAY_MS + 3_600_000
    assert "$cond" in str(day_index("$t", boundaries))  # a second stretch of 24-hour days
    assert "$cond" not in str(day_index("$t", [0, DAY_MS, 2 * DAY_MS]))
    spring = Period(date(2026, 3, 27), date(2026, 3, 31), paris)  # 29 March has 23 hours
    for when in (datetime(2026, 3, 28, 23, 59, tzinfo=paris), datetime(2026, 3, 29, 23, 30, tzinfo=paris),
                 datetime(2026, 3, 30, 0, 15, tzinfo=paris)):
        await store.db["threads"].insert_one({"_id": new_chat_id(), "owner": "o", "created_ms": ms(when)})
    overview = await Insights(store.db, lambda: KNOWLEDGE).overview(team_member(), spring)
    assert overview.metric("conversations").series == (0, 1, 1, 1, 0)


async def test_the_pipelines_match_only_the_period_and_group_by_day(fixed):
    start, end = WEEK.start_ms, WEEK.end_ms
    boundaries = [WEEK.midnight_ms(d) for d in WEEK.dates()] + [end]
    rows = [r async for r in fixed.db["threads"].aggregate(
        conversations_pipeline(start, end, day_index("$created_ms", boundaries)))]
    assert sorted((round(r["_id"]), r["conversations"], r["handoffs"], r["resolved"]) for r in rows) == [
        (0, 2, 0, 1), (1, 1, 0, 0), (2, 1, 1, 0), (3, 1, 1, 0), (4, 1, 0, 1), (5, 1, 0, 0), (6, 1, 0, 1)]


def test_a_period_is_whole_days_of_a_bounded_length():
    assert Period.last(30, NOW).start == date(2026, 11, 1)
    assert Period.last(1, datetime(2026, 11, 30, 23, 30, tzinfo=UTC), ZoneInfo("Europe/Paris")).start == \
        date(2026, 12, 1)
    with pytest.raises(InvalidPeriod):
        Period(date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(InvalidPeriod):
        Period(date(2025, 1, 1), date(2026, 11, 1))
    with pytest.raises(InvalidPeriod):
        Period.last(0, NOW)


# Articles, gaps, exports ---------------------------------------------------------------------

async def test_articles_cited_with_their_thumbs_up_share_and_the_ones_never_cited(fixed, insights):
    report = await insights.articles(team_member(), WEEK)
    rows = [(a.slug, a.cited, a.thumbs_up, a.thumbs_down, a.up_share, a.removed) for a in report.cited]
    assert rows == [
        ("reset-password", 2, 2, 0, 1.0, False),  # C1 (two passages: one citation) and C6
        ("change-plan", 2, 1, 0, 1.0, False),  # C6 and C7 (P3 is the week before)
        ("", 1, 1, 0, 1.0, True),  # C6 cited an article deleted since
        ("invoices-and-vat", 1, 0, 1, 0.0, False),
        ("sign-in-problems", 1, 0, 0, None, False),  # a legacy "slug#n" passage id
    ]
    assert len(report.never_cited) == len(KNOWLEDGE.articles) - 4
    assert {a.slug for a in report.never_cited}.isdisjoint({"change-plan", "reset-password"})
    assert all(a.cited == 0 for a in report.never_cited)


async def test_knowledge_gaps_group_the_declined_and_thumbs_down_questions(fixed, insights):
    report = await insights.gaps(team_member(), WEEK)
    assert (report.questions, report.declined, report.thumbs_down, report.truncated) == (4, 3, 1, False)
    topics = {t.label: t for t in report.topics}
    whatsapp = report.topics[0]
    assert whatsapp.label == "WhatsApp" and whatsapp.count == 2 and whatsapp.declined == 2
    assert set(whatsapp.examples) == {WHATSAPP, WHATSAPP_TOO}
    assert whatsapp.title in (WHATSAPP, WHATSAPP_TOO) and "## What customers asked" in whatsapp.body
    assert f"- {WHATSAPP}" in whatsapp.body and problems(whatsapp.body) == []
    vat = next(t for t in topics.values() if VAT in t.examples)
    assert (vat.count, vat.thumbs_down, vat.reasons) == (1, 1, {"wrong": 1})
    assert len(report.topics) == 3  # WhatsApp, the lasagne recipe, the VAT invoice
    limited = await insights.gaps(team_member(), WEEK, limit=2)
    assert limited.truncated and limited.questions == 2


def rows_of(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def test_the_conversations_export_has_one_row_each_and_no_formulas(fixed, insights):
    export = await insights.conversations_csv(team_member(), WEEK)
    assert export.filename == "conversations-2026-11-24-to-2026-11-30.csv" and export.rows == 8
    header, *rows = rows_of(export.content)
    assert header[:5] == ["conversation", "started (UTC)", "last activity (UTC)", "closed (UTC)", "customer"]
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    c4 = by_id[FIXED[3].id]
    assert (c4["started (UTC)"], c4["closed (UTC)"], c4["handoff"], c4["agent"], c4["closed by"],
            c4["csat"]) == ("2026-11-26 14:00:00", "2026-11-26 14:30:00", "yes", "Alex", "agent", "4")
    assert (c4["answers"], c4["declined"], c4["thumbs up"], c4["thumbs down"], c4["state"]) == (
        "1", "1", "0", "0", CLOSED)
    assert by_id[FIXED[5].id]["closed by"] == "customer" and by_id[FIXED[0].id]["thumbs up"] == "1"
    assert by_id[FIXED[1].id]["customer"] == "'=HYPERLINK(\"http://evil\")"  # text, not a formula


async def test_the_feedback_export_has_each_rated_answer_with_its_question_and_each_csat(fixed, insights):
    export = await insights.feedback_csv(team_member(), WEEK)
    header, *rows = rows_of(export.content)
    assert export.rows == 6 and len(rows) == 6
    answers = [dict(zip(header, r, strict=True)) for r in rows if r[0] == "answer"]
    assert [(a["question"], a["rating"]) for a in answers] == [
        (QUESTION, "up"), (VAT, "down"), (QUESTION, "up")]
    assert answers[1]["reasons"] == "Wrong"
    assert answers[1]["articles"] == "Downloading invoices and adding a VAT number"
    assert answers[2]["articles"] == "Resetting your password; Upgrading or downgrading your plan"
    assert answers[0]["model"] == "helpdesk/knowledge-base"
    assert sorted(r[6] for r in rows if r[0] == "conversation") == ["2", "4", "5"]


async def test_only_the_active_team_sees_insights_and_exports(fixed, insights):
    for user in (customer(), customer(GUEST), team_member(AGENT, active=False)):
        for call in (insights.overview, insights.articles, insights.gaps, insights.conversations_csv,
                     insights.feedback_csv):
            with pytest.raises(NotAllowed):
                await call(user, WEEK)
    assert (await insights.overview(team_member(ADMIN), WEEK)).metric("conversations").value == 8


async def test_backfill_gives_older_records_the_fields_the_pipelines_match(store, insights):
    started = on(25, 10)
    await store.db["threads"].insert_one({"_id": "old1", "owner": "o", "title": "t", "created_at": started,
                                          "updated_at": ms(started), "status": "bot"})
    await store.db["messages"].insert_many([
        {"owner": "o", "chat_id": "old1", "role": USER, "content": "Do you support fax?", "status": "sent",
         "client_id": "q1",
         "created_at": started},
        {"owner": "o", "chat_id": "old1", "role": ASSISTANT, "content": "a", "status": "complete",
         "client_id": "q1:answer", "created_at": started + timedelta(minutes=1), "declined": True,
         "sources": [passage("reset-password"), passage("reset-password", "steps")]}])
    assert await insights.backfill() == {"threads": 1, "messages": 2}
    assert await insights.backfill() == {"threads": 0, "messages": 0}
    thread = await store.db["threads"].find_one({"_id": "old1"})
    assert (thread["created_ms"], thread["asked"], thread["answers"], thread["declines"],
            thread["last_declined"]) == (ms(started), 1, 1, 1, True)
    records = [r async for r in store.db[REPORTING].find().sort("_id", 1)]
    assert [(r["kind"], r.get("article"), r.get("question")) for r in records] == [
        ("cited", seed_id("reset-password"), None), ("gap", None, "Do you support fax?")]
    overview = await insights.overview(team_member(), WEEK)
    assert (overview.metric("decline_rate").value, overview.metric("customer_messages").value) == (1.0, 1)
    assert (await insights.articles(team_member(), WEEK)).cited[0].slug == "reset-password"
    gaps = await insights.gaps(team_member(), WEEK)
    assert [t.examples for t in gaps.topics] == [("Do you support fax?",)]


# Feedback ------------------------------------------------------------------------------------

async def test_thumbs_are_changeable_with_reasons_and_keep_the_conversation_s_tally(store, worker):
    feedback = Feedback(store.db)
    ann = await worker.person("ann")
    thread, question, _ = await worker.ask(ann, QUESTION)
    answer = await worker.answered(question)
    raw = await store.db["threads"].find_one({"_id": thread.id})
    assert (raw["answers"], raw["declines"], raw["last_declined"]) == (1, 0, False)

    async def tally() -> tuple[int, int]:
        doc = await store.db["threads"].find_one({"_id": thread.id})
        return doc.get("thumbs_up", 0), doc.get("thumbs_down", 0)

    up = await feedback.rate_answer(ann, answer.id, "up")
    assert (up.rating, up.reasons) == ("up", ()) and await tally() == (1, 0)
    assert (await feedback.rate_answer(ann, answer.id, "up")).rating == "up" and await tally() == (1, 0)
    down = await feedback.rate_answer(ann, answer.id, "down", ["unclear", "wrong", "wrong"], "  too   vague ")
    assert (down.reasons, down.comment) == (("wrong", "unclear", "other"), "too vague")
    assert await tally() == (0, 1)
    message = await store.db["messages"].find_one({"_id": ObjectId(answer.id)})  # with sources, model
    assert (message["feedback"], message["sources"], message["model"]) == (
        "down", list(answer.sources), answer.model)
    shown = await feedback.answer_feedback(ann, thread.id)
    assert shown[answer.id].rating == "down"
    assert shown[answer.id].to_dict()["reasons"] == ["wrong", "unclear", "other"]
    records = {r["kind"]: r async for r in store.db[REPORTING].find({"message_id": answer.id})}
    assert records["cited"]["feedback"] == "down" and records["cited"]["article"] == seed_id("reset-password")
    assert (records["gap"]["question"], records["gap"]["reasons"], records["gap"]["declined"]) == (
        QUESTION, ["wrong", "unclear", "other"], False)  # a thumbs-down answer's question is a gap
    assert (await feedback.rate_answer(ann, answer.id, None)).rating is None and await tally() == (0, 0)
    assert await feedback.answer_feedback(ann, thread.id) == {}
    records = [r async for r in store.db[REPORTING].find({"message_id": answer.id})]
    assert [(r["kind"], r["feedback"]) for r in records] == [("cited", None)]

    _, off_topic, _ = await worker.ask(ann, OFF_TOPIC, chat_id=thread.id)
    declined = await worker.answered(off_topic)
    gap = await store.db[REPORTING].find_one({"message_id": declined.id})
    assert (gap["kind"], gap["question"], gap["declined"], gap["feedback"]) == ("gap", OFF_TOPIC, True, None)
    await feedback.rate_answer(ann, declined.id, "down", ["unanswered"])
    await feedback.rate_answer(ann, declined.id, "up")
    gap = await store.db[REPORTING].find_one({"message_id": declined.id})
    assert (gap["feedback"], gap["reasons"]) == ("up", [])  # still a gap: it was declined


async def test_only_the_customer_rates_their_own_finished_answers(store, worker):
    feedback = Feedback(store.db)
    ann, bob = await worker.person("ann"), await worker.person("bob")
    alex = await worker.person("alex", AGENT)
    thread, question, _ = await worker.ask(ann, QUESTION)
    answer = await worker.answered(question)
    with pytest.raises(AnswerNotFound):
        await feedback.rate_answer(bob, answer.id, "up")
    with pytest.raises(NotAllowed):
        await feedback.rate_answer(alex, answer.id, "up")
    for bad in ("nope", question.id, str(ObjectId())):  # not an id, a question, nothing
        with pytest.raises(AnswerNotFound):
            await feedback.rate_answer(ann, bad, "up")
    for rating, reasons, comment in (("meh", (), ""), ("up", ("wrong",), ""), ("up", (), "nice"),
                                     ("down", ("rude",), ""), ("down", (), "x" * 501)):
        with pytest.raises(InvalidFeedback):
            await feedback.rate_answer(ann, answer.id, rating, reasons, comment)
    with pytest.raises(ThreadNotFound):
        await feedback.answer_feedback(bob, thread.id)
    await feedback.rate_answer(ann, answer.id, "up")
    assert (await feedback.answer_feedback(alex, thread.id))[answer.id].rating == "up"  # the team reads them
    writing, _ = await worker.threads.add_message(ann.id, thread.id, ASSISTANT, "", client_id="w:answer",
                                                  status="writing")
    with pytest.raises(AnswerNotFound):
        await feedback.rate_answer(ann, writing.id, "up")


async def test_a_closed_conversation_is_rated_1_to_5_by_its_customer_only(store, workers):
    clock = Clock(NOW)
    worker = workers(clock=clock)
    feedback = Feedback(store.db, clock=clock)
    ann, bob = await worker.person("ann"), await worker.person("bob")
    alex = await worker.person("alex", AGENT)
    thread, question, _ = await worker.ask(ann, QUESTION)
    await worker.answered(question)
    with pytest.raises(NotAllowed):  # still open
        await feedback.rate_conversation(ann, thread.id, 5)
    assert not (await feedback.conversation_rating(ann, thread.id)).can_rate
    closed = await worker.conversations.close(ann, thread.id)  # "This solved my problem"
    assert closed.status == CLOSED
    assert (await store.db["threads"].find_one({"_id": thread.id}))["closed_by"] == "customer"
    for score in (0, 6, True, "5", 4.5):
        with pytest.raises(InvalidFeedback):
            await feedback.rate_conversation(ann, thread.id, score)
    with pytest.raises(InvalidFeedback):
        await feedback.rate_conversation(ann, thread.id, 5, "x" * 1001)
    with pytest.raises(ThreadNotFound):
        await feedback.rate_conversation(bob, thread.id, 5)
    with pytest.raises(NotAllowed):
        await feedback.rate_conversation(alex, thread.id, 5)
    first = await feedback.rate_conversation(ann, thread.id, 2, "slow")
    again = await feedback.rate_conversation(ann, thread.id, 5, "  sorted, thanks ")
    assert (first.score, again.score, again.comment, again.rated_at) == (2, 5, "sorted, thanks", NOW)
    mine = await feedback.conversation_rating(ann, thread.id)
    theirs = await feedback.conversation_rating(alex, thread.id)
    assert (mine.score, mine.can_rate, theirs.score, theirs.can_rate) == (5, True, 5, False)


async def test_the_services_write_what_the_pipelines_count(store, workers):
    """End to end: real answers, a decline, a handoff with a reply, a close, feedback and CSAT."""
    clock = Clock()
    worker = workers(clock=clock)
    feedback = Feedback(store.db, clock=clock)
    insights = Insights(store.db, lambda: KNOWLEDGE, clock=clock)
    ann, bob = await worker.person("ann"), await worker.person("bob")
    alex = await worker.person("alex", AGENT)
    solved, question, _ = await worker.ask(ann, QUESTION)
    answer = await worker.answered(question)
    await feedback.rate_answer(ann, answer.id, "up")
    clock.advance(seconds=30)
    await worker.conversations.close(ann, solved.id)
    await feedback.rate_conversation(ann, solved.id, 5)
    declined, off_topic, _ = await worker.ask(bob, OFF_TOPIC)
    refusal = await worker.answered(off_topic)
    assert refusal.declined
    await feedback.rate_answer(bob, refusal.id, "down", ["unanswered"])
    await worker.conversations.request_person(bob, declined.id)
    clock.advance(minutes=4)
    await worker.conversations.reply(alex, declined.id, "Hello Bob", "r1")
    overview = await insights.overview(alex, insights.last(1))
    values = {m.key: m.value for m in overview.metrics}
    assert (values["conversations"], values["customer_messages"], values["answers"]) == (2, 2, 2)
    assert (values["resolved"], values["handoff_rate"], values["decline_rate"]) == (1, 0.5, 0.5)
    assert (values["thumbs_up_share"], values["csat"]) == (0.5, 5.0)
    assert values["first_reply_median"] == pytest.approx(240, abs=1)
    assert values["close_median"] == pytest.approx(30, abs=2)
    gaps = await insights.gaps(alex, insights.last(1))
    assert [t.examples for t in gaps.topics] == [(OFF_TOPIC,)]
    articles = await insights.articles(alex, insights.last(1))
    assert [(a.slug, a.cited, a.thumbs_up) for a in articles.cited] == [("reset-password", 1, 1)]


# Transcripts ---------------------------------------------------------------------------------

async def test_a_customer_downloads_their_conversation_as_markdown_with_source_links(workers):
    worker = workers()
    transcripts = Transcripts(worker.threads, lambda: KNOWLEDGE, clock=lambda: NOW)
    ann, bob = await worker.person("ann"), await worker.person("bob")
    alex = await worker.person("alex", AGENT)
    thread, question, _ = await worker.ask(ann, "How do I reset my password? <b>*now*</b>")
    await worker.answered(question)
    await worker.conversations.request_person(ann, thread.id)
    await worker.conversations.reply(alex, thread.id, "Hi Ann, **done**.", "r1")
    transcript = await transcripts.markdown(ann, thread.id, base_url="https://help.example.com/")
    text = transcript.text
    assert transcript.filename == "conversation-how-do-i-reset-my-password-b-now-b.md"
    assert text.startswith("# How do I reset my password? \\<b\\>\\*now\\*\\</b\\>\n")
    assert "**You** · " in text and "How do I reset my password? \\<b\\>\\*now\\*\\</b\\>" in text
    assert "**Assistant** · " in text
    assert "Sources: [Resetting your password](https://help.example.com/help/reset-password)" in text
    assert "*Handed over to the support team\\.* · " in text and "*Alex from Support joined\\.*" in text
    assert "**Alex · Support** · " in text and "Hi Ann, **done**." in text
    assert problems(text) == []  # no raw HTML and no unsafe links in the file
    with pytest.raises(ThreadNotFound):
        await transcripts.markdown(bob, thread.id)
    for_team = await transcripts.markdown(alex, thread.id)
    assert "**ann** · " in for_team.text and "](/help/reset-password)" in for_team.text


# make demo-data ------------------------------------------------------------------------------

def demo_data(database, store, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MONGODB_URI": database.uri, "MONGODB_DB": store.db.name, "JWT_SECRET": "k" * 48}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "scripts/demo_data.py", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


async def test_demo_data_fills_a_month_the_dashboard_shows_and_refuses_to_run_twice(database, store):
    first = demo_data(database, store)
    assert first.returncode == 0, first.stderr
    assert "conversations and" in first.stdout and "over the last 30 days" in first.stdout
    again = demo_data(database, store)
    assert again.returncode == 0 and "already has demo data" in again.stdout
    assert "nothing added" in again.stdout
    insights = Insights(store.db, lambda: KNOWLEDGE)
    agent = team_member()
    overview = await insights.overview(agent, insights.last(30))
    value = {m.key: m.value for m in overview.metrics}
    assert value["conversations"] > 500 and value["answers"] > value["conversations"]
    assert 0.4 < value["resolution_rate"] < 0.8 and 0.1 < value["handoff_rate"] < 0.35
    assert 0.05 < value["decline_rate"] < 0.3 and 0.5 < value["thumbs_up_share"] < 0.9
    assert 3.5 < value["csat"] < 4.8 and value["first_reply_median"] > 60 and value["close_median"] > 300
    assert all(v is not None for v in overview.metric("conversations").series)
    gaps = await insights.gaps(agent, insights.last(30))
    labels = [t.label for t in gaps.topics]  # the month depends on today's date: robust checks only
    assert labels[0] == "WhatsApp" and {"fax", "Pipedrive"} <= set(labels[:5])
    articles = await insights.articles(agent, insights.last(30))
    never = {a.slug for a in articles.never_cited}  # no customer asks about these (secondary citations aside)
    assert {"sso-saml", "zoho-crm-integration"} <= never <= {"audit-logs", "data-retention", "sso-saml",
                                                            "zoho-crm-integration"}
    threads = Threads(store.db)
    waiting = await threads.team_queue(("waiting",), 50)
    assert len(waiting) == 3 and all(t.summary for t in waiting)
    closed = (await threads.team_queue((CLOSED,), 1))[0]
    shown = await threads.messages(closed.owner, closed.id)
    assert shown[0].role == USER and closed.title
    assert (await Transcripts(threads, lambda: KNOWLEDGE).markdown(agent, closed.id)).text.startswith("# ")
    replaced = demo_data(database, store, "--reset")
    assert "removed the earlier demo data" in replaced.stdout
    threads_now = store.db["threads"]
    assert await threads_now.count_documents({}) == await threads_now.count_documents({"demo": True}) > 500


async def test_a_deleted_conversation_takes_its_reporting_records_and_questions_with_it(store, worker):
    ann, bob = await worker.person("ann"), await worker.person("bob")
    kept, question, _ = await worker.ask(ann, QUESTION)
    await worker.answered(question)
    gone, off_topic, _ = await worker.ask(ann, OFF_TOPIC)
    await worker.answered(off_topic)
    _, other, _ = await worker.ask(bob, OFF_TOPIC)
    await worker.answered(other)
    records = store.db[REPORTING]
    assert await records.count_documents({"chat_id": gone.id, "question": OFF_TOPIC}) == 1
    await worker.conversations.delete(ann, gone.id)
    assert await records.count_documents({"chat_id": gone.id}) == 0
    assert await records.count_documents({"chat_id": kept.id}) == 1  # its citation
    await worker.conversations.clear(ann)
    assert await records.count_documents({"owner": ann.id}) == 0
    assert await records.count_documents({"owner": bob.id}) == 1

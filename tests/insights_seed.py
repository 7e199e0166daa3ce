"""A fixed week of conversations for the insights tests, seeded straight into the database as
threads.py and feedback.py write them: three in RANGE and one the week before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from chatapp.models import ASSISTANT, CLOSED, USER
from chatapp.services.knowledge.articles import seed_id
from chatapp.services.threads import ANSWER_SUFFIX, REPORTING, citation_events, gap_event

QUESTION = "How do I reset my password?"
OFF_TOPIC = "What is the best lasagne recipe?"
RANGE = {"from": "2026-03-02", "to": "2026-03-08"}  # a past week, Monday to Sunday
WHATSAPP, WHATSAPP_TOO = "Do you integrate with WhatsApp?", "Is there WhatsApp support?"
DOWNLOADS = ("/api/insights/conversations.csv", "/api/insights/feedback.csv", "/api/insights/gaps/0.md")


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def seed(db, chat_id: str, started: datetime, question: str, *, declined: bool = False,
               feedback: str | None = None, sources: tuple[str, ...] = (), handoff: bool = False,
               csat: int | None = None) -> None:
    """One conversation of one question and its answer, as the services store them."""
    owner, answered_at = str(ObjectId()), started + timedelta(minutes=1)
    answer_id = ObjectId()
    thread = {"_id": chat_id, "owner": owner, "title": question, "created_at": started,
              "created_ms": ms(started), "updated_at": ms(answered_at), "status": "bot",
              "customer_name": "Ann Seed", "customer_email": "ann.seed@example.com", "guest": False,
              "asked": 1, "answers": 1, "declines": int(declined), "last_declined": declined,
              "thumbs_up": int(feedback == "up"), "thumbs_down": int(feedback == "down")}
    answer = {"_id": answer_id, "owner": owner, "chat_id": chat_id, "role": ASSISTANT,
              "content": f"Answer to {question}", "status": "complete", "model": "helpdesk/knowledge-base",
              "client_id": f"{chat_id}-q{ANSWER_SUFFIX}", "created_at": answered_at,
              "created_ms": ms(answered_at), "sources": list(sources), "author": "", "declined": declined}
    if feedback:
        answer |= {"feedback": feedback, "feedback_reasons": [], "feedback_comment": "",
                   "feedback_at": ms(answered_at + timedelta(minutes=1))}
    if handoff:
        closed = started + timedelta(minutes=30)
        thread |= {"status": CLOSED, "handoff_at": ms(started + timedelta(minutes=2)),
                   "first_human_reply_at": ms(started + timedelta(minutes=7)), "assignee_name": "Alex",
                   "closed_at": ms(closed), "closed_by": "agent"}
        if csat:
            thread |= {"csat": csat, "csat_comment": "", "csat_at": ms(closed + timedelta(minutes=1))}
    await db["threads"].insert_one(thread)
    await db["messages"].insert_many([
        {"owner": owner, "chat_id": chat_id, "role": USER, "content": question, "status": "sent", "model": "",
         "client_id": f"{chat_id}-q", "created_at": started, "created_ms": ms(started), "sources": [],
         "author": "", "declined": False}, answer])
    records = citation_events(str(answer_id), chat_id, owner, ms(answered_at), sources, feedback)
    if declined or feedback == "down":
        records.append(gap_event(str(answer_id), chat_id, owner, ms(answered_at), question, declined=declined,
                                 feedback=feedback))
    if records:
        await db[REPORTING].insert_many(records)


async def seed_week(db) -> list[str]:
    """Three conversations in RANGE (their ids, oldest first) and one the week before."""
    ids = [uuid.uuid4().hex[:16] for _ in range(4)]
    steps = f"{seed_id('reset-password')}:steps"
    await seed(db, ids[0], at(2, 10), QUESTION, feedback="up", sources=(steps,))
    await seed(db, ids[1], at(4, 11), WHATSAPP, declined=True, handoff=True, csat=4)
    await seed(db, ids[2], at(6, 9), WHATSAPP_TOO, declined=True)
    await seed(db, ids[3], at(24, 9, month=2), OFF_TOPIC, declined=True)
    return ids[:3]

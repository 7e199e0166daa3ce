"""Conversations (threads) and their messages in MongoDB, with the indexes that serve the
customer's sidebar, the thread view and the team's queue.

Owner ids and chat ids are strings; every customer query filters by owner, so one customer can
never read another's conversation, whatever id they guess. The team's queries are separate
methods, called only by services that checked the caller's role.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from chatapp.models import ASSISTANT, BOT, USER, Message, Thread
from chatapp.services.store import now

log = logging.getLogger(__name__)
TITLE_LENGTH = 60
PREVIEW_LENGTH = 140
WRITING = "writing"
WRITING_LEASE = timedelta(seconds=10)  # an answer whose writer stopped renewing this long is interrupted
ANSWER_SUFFIX = ":answer"
COUNTED = ("complete", "stopped")  # an answer the customer got: it counts in the insights
REPORTING = "reporting_events"  # lean records of what the insights count (services/insights.py)
CITED, GAP = "cited", "gap"


def title_from(text: str) -> str:
    """A sidebar title from the first message: its words on one line, cut at a word near 60 chars."""
    return shortened(text, TITLE_LENGTH) or "New chat"


def shortened(text: str, limit: int) -> str:
    line = " ".join(text.strip().split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return f"{cut or line[:limit]}…"


def in_turn_order(messages: list[Message]) -> list[Message]:
    """Each answer right after its question, even when questions sent in a row were stored
    before their answers (answers carry their question's client id plus ":answer")."""
    questions = {m.client_id for m in messages if m.role == USER}
    answers = {m.client_id.removesuffix(ANSWER_SUFFIX): m for m in messages
               if m.role == ASSISTANT and m.client_id.removesuffix(ANSWER_SUFFIX) in questions}
    placed = {id(a) for a in answers.values()}
    ordered: list[Message] = []
    for message in messages:
        if id(message) in placed:
            continue
        ordered.append(message)
        answer = answers.get(message.client_id) if message.role == USER else None
        if answer is not None:
            ordered.append(answer)
    return ordered


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Times as epoch milliseconds: the embedded nx-27017 stores a datetime given to `$set` as a
    string (so it would sort and compare wrongly); numbers survive everywhere."""
    return {key: _ms(value) if isinstance(value, datetime) else value for key, value in fields.items()}


def _time(value: Any) -> datetime | None:
    """A stored time back as a datetime (milliseconds; also a datetime or ISO text from before)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def cited_article_ids(sources: tuple[str, ...] | list[str]) -> list[str]:
    """The articles a list of passage ids cites, each once, first citation first: the part
    before ":" of an `<article id>:<section>` id, the slug of a legacy `slug#n` one."""
    return list(dict.fromkeys(s.split(":", 1)[0] if ":" in s else s.split("#", 1)[0] for s in sources))


def citation_events(message_id: str, chat_id: str, owner: str, at_ms: int,
                    sources: tuple[str, ...] | list[str], feedback: str | None = None
                    ) -> list[dict[str, Any]]:
    """One small reporting record per article an answer cited (the articles table counts
    these, rather than unwinding every answer's sources: nx-27017 reads whole documents)."""
    return [{"_id": f"{CITED}:{message_id}:{article}", "kind": CITED, "at": at_ms, "article": article,
             "message_id": message_id, "chat_id": chat_id, "owner": owner, "feedback": feedback}
            for article in cited_article_ids(sources)]


def gap_event(message_id: str, chat_id: str, owner: str, at_ms: int, question: str, *, declined: bool,
              feedback: str | None = None, reasons: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The reporting record of a question the help centre did not serve: the answer declined
    it, or its customer rated the answer down (kept while either is true)."""
    return {"_id": f"{GAP}:{message_id}", "kind": GAP, "at": at_ms, "message_id": message_id,
            "chat_id": chat_id, "owner": owner, "question": question, "declined": declined,
            "feedback": feedback, "reasons": list(reasons)}


def _thread(doc: dict[str, Any]) -> Thread:
    return Thread(
        id=doc["_id"], owner=doc["owner"], title=doc["title"], created_at=doc["created_at"],
        updated_at=_time(doc["updated_at"]), status=doc.get("status", BOT),
        assignee=doc.get("assignee", ""), assignee_name=doc.get("assignee_name", ""),
        waiting_since=_time(doc.get("waiting_since")), handoff_at=_time(doc.get("handoff_at")),
        first_human_reply_at=_time(doc.get("first_human_reply_at")),
        closed_at=_time(doc.get("closed_at")), summary=doc.get("summary", ""),
        customer_name=doc.get("customer_name", ""), customer_email=doc.get("customer_email", ""),
        guest=bool(doc.get("guest")),
        preview=doc.get("preview", ""), team_unread=bool(doc.get("team_unread")),
        notice=doc.get("notice", ""), csat=doc.get("csat"),
    )


def _message(doc: dict[str, Any]) -> Message:
    status = doc["status"]
    lease = _time(doc.get("lease_until"))
    if status == WRITING and (lease is None or lease < now()):
        status = "failed"  # its writer is gone (a crash, a kill): what it wrote is kept
    return Message(
        id=str(doc["_id"]), owner=doc["owner"], chat_id=doc["chat_id"], role=doc["role"],
        content=doc["content"], status=status, model=doc.get("model", ""),
        client_id=doc["client_id"], created_at=doc["created_at"],
        sources=tuple(doc.get("sources", ())), author=doc.get("author", ""),
        declined=bool(doc.get("declined")), error=doc.get("error", ""),
        stream_from=doc.get("stream_from", "") if status == WRITING else "",
        action=doc.get("action"), feedback=doc.get("feedback") or "",
        feedback_reasons=tuple(doc.get("feedback_reasons") or ()),
    )


class Threads:
    def __init__(self, db: AsyncIOMotorDatabase) -> None:
        self._threads = db["threads"]
        self._messages = db["messages"]
        self._reporting = db[REPORTING]

    async def ensure_indexes(self) -> None:
        await self._threads.create_index([("owner", ASCENDING), ("updated_at", DESCENDING)],
                                         name="sidebar")
        await self._threads.create_index([("status", ASCENDING), ("updated_at", DESCENDING)],
                                         name="team_queue")
        await self._messages.create_index(
            [("owner", ASCENDING), ("chat_id", ASCENDING), ("created_at", ASCENDING)],
            name="thread_view",
        )
        await self._messages.create_index([("owner", ASCENDING), ("client_id", ASCENDING)],
                                          unique=True, name="one_per_client_id")
        # The insights' date ranges (services/insights.py): every time they match is epoch ms.
        await self._messages.create_index([("created_ms", ASCENDING)], name="insights_messages")
        for field in ("created_ms", "first_human_reply_at", "closed_at", "csat_at"):
            await self._threads.create_index([(field, ASCENDING)], name=f"insights_{field}")
        await self._reporting.create_index([("kind", ASCENDING), ("at", ASCENDING)], name="insights_events")
        await self._reporting.create_index([("message_id", ASCENDING)], name="insights_by_answer")

    # Conversations ---------------------------------------------------------------------------

    async def create(self, owner: str, first_message: str, chat_id: str | None = None, *,
                     customer_name: str = "", customer_email: str = "",
                     guest: bool = False) -> Thread | None:
        """A new conversation, under the id the page chose for it (or a new one); None when that
        id is already another conversation (the page then says it was not found)."""
        stamp = now()
        doc = {"_id": chat_id or secrets.token_hex(8), "owner": owner,
               "title": title_from(first_message), "created_at": stamp, "updated_at": stamp,
               "created_ms": _ms(stamp), "status": BOT, "customer_name": customer_name,
               "customer_email": customer_email, "guest": guest}
        try:
            await self._threads.insert_one(_stored(doc) | {"created_at": stamp})
        except DuplicateKeyError:
            return await self.get(owner, doc["_id"]) if chat_id else None
        return _thread(doc)

    async def get(self, owner: str, chat_id: str) -> Thread | None:
        doc = await self._threads.find_one({"_id": chat_id, "owner": owner})
        return _thread(doc) if doc else None

    async def get_any(self, chat_id: str) -> Thread | None:
        """A conversation whoever owns it: for the team, and for checks that name the owner."""
        doc = await self._threads.find_one({"_id": chat_id})
        return _thread(doc) if doc else None

    async def list(self, owner: str, limit: int = 200) -> list[Thread]:
        cursor = self._threads.find({"owner": owner}).sort("updated_at", DESCENDING).limit(limit)
        return [_thread(doc) async for doc in cursor]

    async def rename(self, owner: str, chat_id: str, title: str) -> bool:
        result = await self._threads.update_one({"_id": chat_id, "owner": owner},
                                                {"$set": {"title": title}})
        return result.matched_count == 1

    async def delete(self, owner: str, chat_id: str) -> bool:
        result = await self._threads.delete_one({"_id": chat_id, "owner": owner})
        await self._messages.delete_many({"owner": owner, "chat_id": chat_id})
        await self._reporting.delete_many({"owner": owner, "chat_id": chat_id})  # questions go with it
        return result.deleted_count == 1

    async def clear(self, owner: str) -> None:
        await self._threads.delete_many({"owner": owner})
        await self._messages.delete_many({"owner": owner})
        await self._reporting.delete_many({"owner": owner})

    async def set_customer(self, owner: str, name: str, email: str, *, guest: bool) -> None:
        """Who the customer is, on each of their conversations (the team's queue shows it)."""
        await self._threads.update_many(
            {"owner": owner}, {"$set": {"customer_name": name, "customer_email": email, "guest": guest}})

    async def move(self, old_owner: str, new_owner: str, name: str, email: str) -> int:
        """Give every conversation of one owner to another (a guest who signed up); how many."""
        moved = await self._threads.update_many(
            {"owner": old_owner}, {"$set": {"owner": new_owner, "customer_name": name,
                                            "customer_email": email, "guest": False}})
        await self._messages.update_many({"owner": old_owner}, {"$set": {"owner": new_owner}})
        await self._reporting.update_many({"owner": old_owner}, {"$set": {"owner": new_owner}})
        return moved.modified_count

    async def update(self, chat_id: str, fields: dict[str, Any], *,
                     states: tuple[str, ...] | None = None) -> Thread | None:
        """Set `fields` on the conversation, only if it is in one of `states` (when given): a
        transition two agents race for happens once. The updated conversation, or None."""
        query: dict[str, Any] = {"_id": chat_id}
        if states is not None:
            query["status"] = {"$in": list(states)}
        doc = await self._threads.find_one_and_update(query, {"$set": _stored(fields)},
                                                      return_document=ReturnDocument.AFTER)
        return _thread(doc) if doc else None

    # The team's queue ------------------------------------------------------------------------

    async def team_queue(self, states: tuple[str, ...], limit: int) -> list[Thread]:
        cursor = self._threads.find({"status": {"$in": list(states)}}).sort(
            "updated_at", DESCENDING).limit(limit)
        return [_thread(doc) async for doc in cursor]

    async def search(self, query: str, limit: int = 50) -> list[Thread]:
        """Conversations whose customer name or email, title, or any message matches `query`."""
        pattern = {"$regex": re.escape(query.strip()), "$options": "i"}
        found = [_thread(doc) async for doc in self._threads.find({"$or": [
            {"customer_name": pattern}, {"customer_email": pattern}, {"title": pattern},
        ]}).sort("updated_at", DESCENDING).limit(limit)]
        ids = {thread.id for thread in found}
        cursor = self._messages.find({"content": pattern}, {"chat_id": 1}).limit(limit * 4)
        more = list(dict.fromkeys([doc["chat_id"] async for doc in cursor if doc["chat_id"] not in ids]))
        if more:
            found += [_thread(doc) async for doc in self._threads.find({"_id": {"$in": more[:limit]}})]
        return sorted(found, key=lambda t: t.updated_at, reverse=True)[:limit]

    async def handoffs_since(self, since: datetime, limit: int = 50) -> list[Thread]:
        """Recent conversations a person answered, to say how long the team usually takes."""
        cursor = self._threads.find({"handoff_at": {"$gte": _ms(since)},
                                     "first_human_reply_at": {"$ne": None}}).sort(
            "handoff_at", DESCENDING).limit(limit)
        return [_thread(doc) async for doc in cursor]

    # Messages --------------------------------------------------------------------------------

    async def add_message(self, owner: str, chat_id: str, role: str, content: str, *,
                          client_id: str, status: str, model: str = "",
                          sources: tuple[str, ...] = (), author: str = "",
                          declined: bool = False) -> tuple[Message, bool]:
        """Store a message once per client id: (message, created); a replay returns the original."""
        stamp = now()
        doc = {"owner": owner, "chat_id": chat_id, "role": role, "content": content,
               "status": status, "model": model, "client_id": client_id, "created_at": stamp,
               "created_ms": _ms(stamp), "sources": list(sources), "author": author,
               "declined": declined}
        if status == WRITING:
            doc["lease_until"] = _ms(stamp + WRITING_LEASE)
        try:
            result = await self._messages.insert_one(doc)
        except DuplicateKeyError:
            existing = await self._messages.find_one({"owner": owner, "client_id": client_id})
            return _message(existing), False
        doc["_id"] = result.inserted_id
        touched: dict[str, Any] = {"updated_at": stamp}
        if content:
            touched["preview"] = shortened(content, PREVIEW_LENGTH)
        change: dict[str, Any] = {"$set": _stored(touched)}
        if role == USER:
            change["$inc"] = {"asked": 1}  # the conversation's tally of customer messages (insights)
        await self._threads.update_one({"_id": chat_id, "owner": owner}, change)
        return _message(doc), True

    async def write_answer(self, message_id: str, content: str, stream_from: str) -> None:
        """Keep what an answer has written so far, and renew its writer's lease; `stream_from`
        names the event from which a late reader can replay its growth."""
        await self._messages.update_one(
            {"_id": ObjectId(message_id), "status": WRITING},
            {"$set": _stored({"content": content, "lease_until": now() + WRITING_LEASE,
                              "stream_from": stream_from})})

    async def finish_answer(self, message: Message, *, content: str, status: str, model: str,
                            sources: tuple[str, ...], declined: bool, error: str) -> Message:
        stamp = now()
        await self._messages.update_one(
            {"_id": ObjectId(message.id)},
            {"$set": {"content": content, "status": status, "model": model, "error": error,
                      "sources": list(sources), "declined": declined},
             "$unset": {"lease_until": ""}})
        if content:
            change: dict[str, Any] = {"$set": _stored({"updated_at": stamp,
                                                       "preview": shortened(content, PREVIEW_LENGTH)})}
            if status in COUNTED:  # the conversation's own tally, for the insights (no re-count)
                change["$set"]["last_declined"] = declined
                change["$inc"] = {"answers": 1, "declines": int(declined)}
            await self._threads.update_one({"_id": message.chat_id}, change)
            if status in COUNTED:
                try:
                    await self._report_answer(message, sources, declined)
                except PyMongoError:  # the insights miss one record; the answer itself is stored
                    log.warning("reporting records not stored", exc_info=True,
                                extra={"chat_id": message.chat_id})
        return Message(id=message.id, owner=message.owner, chat_id=message.chat_id,
                       role=message.role, content=content, status=status, model=model,
                       client_id=message.client_id, created_at=message.created_at,
                       sources=sources, declined=declined, error=error)

    async def _report_answer(self, answer: Message, sources: tuple[str, ...], declined: bool) -> None:
        """The reporting records of a finished answer: its citations, and a declined question."""
        at = _ms(answer.created_at)
        events = citation_events(answer.id, answer.chat_id, answer.owner, at, sources)
        if declined:
            asked = answer.client_id.removesuffix(ANSWER_SUFFIX)
            question = await self._messages.find_one({"owner": answer.owner, "client_id": asked},
                                                     {"content": 1})
            events.append(gap_event(answer.id, answer.chat_id, answer.owner, at,
                                    (question or {}).get("content", ""), declined=True))
        if events:
            try:
                await self._reporting.insert_many(events, ordered=False)
            except BulkWriteError as error:  # already recorded (a retry that reached here twice)
                if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                    raise

    async def restart_answer(self, message: Message) -> Message | None:
        """A failed (or interrupted) answer, emptied and "writing" again for Retry; None when it
        is not failed any more (another tab pressed Retry first)."""
        stamp = now()
        result = await self._messages.update_one(
            {"_id": ObjectId(message.id), "$or": [
                {"status": "failed"}, {"status": WRITING, "lease_until": {"$lt": _ms(stamp)}}]},
            {"$set": {"status": WRITING, "content": "", "error": "", "model": "", "sources": [],
                      "declined": False, "lease_until": _ms(stamp + WRITING_LEASE)},
             "$unset": {"stream_from": ""}})
        if result.modified_count != 1:
            return None
        return Message(id=message.id, owner=message.owner, chat_id=message.chat_id, role=message.role,
                       content="", status=WRITING, model="", client_id=message.client_id,
                       created_at=message.created_at)

    async def message(self, owner: str, message_id: str) -> Message | None:
        doc = await self._messages.find_one({"_id": ObjectId(message_id), "owner": owner}) \
            if ObjectId.is_valid(message_id) else None
        return _message(doc) if doc else None

    async def by_client_id(self, owner: str, client_id: str) -> Message | None:
        doc = await self._messages.find_one({"owner": owner, "client_id": client_id})
        return _message(doc) if doc else None

    async def answer_to(self, owner: str, client_id: str) -> Message | None:
        """The stored answer to the question sent with `client_id`."""
        return await self.by_client_id(owner, f"{client_id}{ANSWER_SUFFIX}")

    async def messages(self, owner: str, chat_id: str) -> list[Message]:
        cursor = self._messages.find({"owner": owner, "chat_id": chat_id}).sort(
            "created_at", ASCENDING)
        return in_turn_order([_message(doc) async for doc in cursor])


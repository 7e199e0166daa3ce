"""Each action call, stored as a message of its conversation (role "action") in the `messages`
collection, so the page shows it as a card through the same events as every message, the team
sees it in the inbox transcript, and deleting or moving the conversation takes it along.

A card's document is a message's (owner, chat_id, role, content, status, error, client_id,
created_at, created_ms, ...) plus `action`, the card itself:

    name, title, button, confirm    the action, as declared
    arguments                       what it was asked with (checked against its schema)
    fields                          while proposed: the form to fill in (name, label, type, value, error…)
    result, summary                 what it found: a small dict, and one plain sentence
    duration_ms                     how long the action itself ran
    answer_id, offset, call_id      the answer it belongs to, where in its text it was called,
                                    the model's call id
    started_at, finished_at, expires_at   epoch milliseconds

`status` is PROPOSED, RUNNING, DONE, FAILED or CANCELLED; `error` a plain sentence; `content`
one line of text ("Order status: ORD-123456 shipped on 3 May") for search and plain transcripts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ReturnDocument

from chatapp.models import ACTION, Message

CARD_KEYS = ("name", "title", "button", "confirm", "arguments", "fields", "result", "summary",
             "duration_ms", "answer_id", "offset", "call_id", "started_at", "finished_at",
             "expires_at")


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def card_message(doc: Mapping[str, Any]) -> Message:
    created = doc["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return Message(id=str(doc["_id"]), owner=doc["owner"], chat_id=doc["chat_id"], role=ACTION,
                   content=doc.get("content", ""), status=doc["status"], model="",
                   client_id=doc["client_id"], created_at=created, error=doc.get("error", ""),
                   action=card_fields(doc.get("action") or {}))


def card_fields(action: Mapping[str, Any]) -> dict[str, Any]:
    """The card as pages get it (every key present, so the page never guesses)."""
    card = {key: action.get(key) for key in CARD_KEYS}
    card["arguments"] = card["arguments"] or {}
    card["fields"] = card["fields"] or []
    card["result"] = card["result"] or {}
    card["summary"] = card["summary"] or ""
    card["confirm"] = bool(card["confirm"])
    return card


class Calls:
    """The action cards in the `messages` collection; every read and write names the owner."""

    def __init__(self, db: AsyncIOMotorDatabase) -> None:
        self._messages = db["messages"]

    async def add(self, owner: str, chat_id: str, *, status: str, content: str,
                  action: Mapping[str, Any], error: str = "", when: datetime | None = None) -> Message:
        created = when or datetime.now(UTC)
        doc = {"owner": owner, "chat_id": chat_id, "role": ACTION, "content": content,
               "status": status, "model": "", "client_id": f"action:{uuid.uuid4().hex}",
               "created_at": created, "created_ms": ms(created), "sources": [], "author": "",
               "declined": False, "error": error, "action": dict(action)}
        result = await self._messages.insert_one(doc)
        doc["_id"] = result.inserted_id
        return card_message(doc)

    async def get(self, owner: str, message_id: str) -> Message | None:
        if not ObjectId.is_valid(message_id):
            return None
        doc = await self._messages.find_one({"_id": ObjectId(message_id), "owner": owner, "role": ACTION})
        return card_message(doc) if doc else None

    async def update(self, owner: str, message_id: str, *, status: str, content: str, error: str,
                     action: Mapping[str, Any], only_from: tuple[str, ...] | None = None
                     ) -> Message | None:
        """Change a card (its `action` keys given are replaced), only while its status is one of
        `only_from` when given: of two presses of Confirm, one wins. The card after, or None."""
        query: dict[str, Any] = {"_id": ObjectId(message_id), "owner": owner, "role": ACTION}
        if only_from is not None:
            query["status"] = {"$in": list(only_from)}
        changes = {"status": status, "content": content, "error": error,
                   **{f"action.{key}": value for key, value in action.items()}}
        doc = await self._messages.find_one_and_update(query, {"$set": changes},
                                                       return_document=ReturnDocument.AFTER)
        return card_message(doc) if doc else None

    async def between(self, start: datetime, end: datetime | None = None) -> list[dict[str, Any]]:
        """Every card made from `start` (until `end`): its status and card, for insights. By
        `created_ms`, epoch milliseconds, as the insights' other message queries and index."""
        made: dict[str, Any] = {"$gte": ms(start)}
        if end is not None:
            made["$lt"] = ms(end)
        cursor = self._messages.find({"created_ms": made, "role": ACTION},
                                     {"status": 1, "action": 1})  # (nx-27017: no dotted projections)
        return [doc async for doc in cursor]

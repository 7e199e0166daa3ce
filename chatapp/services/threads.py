"""Threads and messages in MongoDB, with indexes that serve the sidebar and the thread view.

Owner ids and chat ids are strings; every query filters by owner, so one user can never read
another's thread, whatever id they guess.
"""

from __future__ import annotations

import secrets
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from chatapp.models import Message, Thread
from chatapp.services.store import now

TITLE_LENGTH = 60


def title_from(text: str) -> str:
    """A sidebar title from the first message: its words on one line, cut at a word near 60 chars."""
    line = " ".join(text.strip().split())
    if len(line) <= TITLE_LENGTH:
        return line or "New chat"
    cut = line[:TITLE_LENGTH].rsplit(" ", 1)[0]
    return f"{cut or line[:TITLE_LENGTH]}…"


def in_turn_order(messages: list[Message]) -> list[Message]:
    """Each answer right after its question, even when questions sent in a row were stored
    before their answers (answers carry their question's client id plus ":answer")."""
    questions = {m.client_id for m in messages if m.role == "user"}
    answers = {m.client_id.removesuffix(":answer"): m for m in messages
               if m.role == "assistant" and m.client_id.removesuffix(":answer") in questions}
    placed = {id(a) for a in answers.values()}
    ordered: list[Message] = []
    for message in messages:
        if id(message) in placed:
            continue
        ordered.append(message)
        answer = answers.get(message.client_id) if message.role == "user" else None
        if answer is not None:
            ordered.append(answer)
    return ordered


def _thread(doc: dict[str, Any]) -> Thread:
    return Thread(id=doc["_id"], owner=doc["owner"], title=doc["title"],
                  created_at=doc["created_at"], updated_at=doc["updated_at"])


def _message(doc: dict[str, Any]) -> Message:
    return Message(
        id=str(doc["_id"]), owner=doc["owner"], chat_id=doc["chat_id"], role=doc["role"],
        content=doc["content"], status=doc["status"], model=doc.get("model", ""),
        client_id=doc["client_id"], created_at=doc["created_at"],
        sources=tuple(doc.get("sources", ())),
    )


class Threads:
    def __init__(self, db: AsyncIOMotorDatabase) -> None:
        self._threads = db["threads"]
        self._messages = db["messages"]

    async def ensure_indexes(self) -> None:
        await self._threads.create_index([("owner", ASCENDING), ("updated_at", DESCENDING)],
                                         name="sidebar")
        await self._messages.create_index(
            [("owner", ASCENDING), ("chat_id", ASCENDING), ("created_at", ASCENDING)],
            name="thread_view",
        )
        await self._messages.create_index([("owner", ASCENDING), ("client_id", ASCENDING)],
                                          unique=True, name="one_per_client_id")

    async def create(self, owner: str, first_message: str) -> Thread:
        stamp = now()
        doc = {"_id": secrets.token_hex(8), "owner": owner, "title": title_from(first_message),
               "created_at": stamp, "updated_at": stamp}
        await self._threads.insert_one(doc)
        return _thread(doc)

    async def get(self, owner: str, chat_id: str) -> Thread | None:
        doc = await self._threads.find_one({"_id": chat_id, "owner": owner})
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
        return result.deleted_count == 1

    async def clear(self, owner: str) -> None:
        await self._threads.delete_many({"owner": owner})
        await self._messages.delete_many({"owner": owner})

    async def add_message(self, owner: str, chat_id: str, role: str, content: str, *,
                          client_id: str, status: str, model: str = "",
                          sources: tuple[str, ...] = ()) -> tuple[Message, bool]:
        """Store a message once per client id: (message, created); a replay returns the original."""
        stamp = now()
        doc = {"owner": owner, "chat_id": chat_id, "role": role, "content": content,
               "status": status, "model": model, "client_id": client_id, "created_at": stamp,
               "sources": list(sources)}
        try:
            result = await self._messages.insert_one(doc)
        except DuplicateKeyError:
            existing = await self._messages.find_one({"owner": owner, "client_id": client_id})
            return _message(existing), False
        doc["_id"] = result.inserted_id
        await self._threads.update_one({"_id": chat_id, "owner": owner},
                                       {"$set": {"updated_at": stamp}})
        return _message(doc), True

    async def by_client_id(self, owner: str, client_id: str) -> Message | None:
        doc = await self._messages.find_one({"owner": owner, "client_id": client_id})
        return _message(doc) if doc else None

    async def answer_to(self, owner: str, client_id: str) -> Message | None:
        """The stored answer to the question sent with `client_id`."""
        return await self.by_client_id(owner, f"{client_id}:answer")

    async def messages(self, owner: str, chat_id: str) -> list[Message]:
        cursor = self._messages.find({"owner": owner, "chat_id": chat_id}).sort(
            "created_at", ASCENDING)
        return in_turn_order([_message(doc) async for doc in cursor])

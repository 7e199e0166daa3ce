"""MongoDB access through motor: one client per process, repositories, and their indexes.

References between documents are stored as strings (not ObjectIds) so the same queries work on
MongoDB, Atlas and the embedded nx-27017 server, which cannot filter on ObjectId-valued fields
other than `_id`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo.errors import DuplicateKeyError

from chatapp.models import User


class StoreUnavailable(Exception):
    """The database did not answer in time; nothing was read or written."""


class DuplicateUser(Exception):
    """Sign-up hit a unique index; `field` is "username" or "email"."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def now() -> datetime:
    return datetime.now(UTC)


def _user(doc: dict[str, Any]) -> User:
    return User(
        id=str(doc["_id"]),
        username=doc["username"],
        email=doc["email"],
        token_version=int(doc.get("token_version", 0)),
        created_at=doc["created_at"],
    )


def _object_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


class Users:
    """Accounts. Usernames and emails are unique without regard to case."""

    def __init__(self, db: AsyncIOMotorDatabase) -> None:
        self._col = db["users"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index("username_key", unique=True, name="username_unique")
        await self._col.create_index("email_key", unique=True, name="email_unique")

    async def create(self, username: str, email: str, password_hash: str) -> User:
        doc = {
            "username": username,
            "username_key": username.casefold(),
            "email": email,
            "email_key": email.casefold(),
            "password_hash": password_hash,
            "token_version": 0,
            "created_at": now(),
        }
        try:
            result = await self._col.insert_one(doc)
        except DuplicateKeyError:
            taken = await self._col.find_one({"username_key": doc["username_key"]}, {"_id": 1})
            raise DuplicateUser("username" if taken else "email") from None
        doc["_id"] = result.inserted_id
        return _user(doc)

    async def find_for_login(self, login: str) -> tuple[User, str] | None:
        """The user whose username or email is `login`, with the stored password hash."""
        key = login.strip().casefold()
        field = "email_key" if "@" in key else "username_key"
        doc = await self._col.find_one({field: key})
        return (_user(doc), doc["password_hash"]) if doc else None

    async def get(self, user_id: str) -> User | None:
        oid = _object_id(user_id)
        doc = await self._col.find_one({"_id": oid}) if oid else None
        return _user(doc) if doc else None

    async def revoke_sessions(self, user_id: str) -> None:
        """Invalidate every token issued so far (log-out everywhere that token is used)."""
        oid = _object_id(user_id)
        if oid:
            await self._col.update_one({"_id": oid}, {"$inc": {"token_version": 1}})


class Store:
    """The database handle and its repositories; created once at start-up."""

    def __init__(self, uri: str, db_name: str, timeout_ms: int = 5000) -> None:
        self.client: AsyncIOMotorClient = AsyncIOMotorClient(
            uri,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=timeout_ms * 4,
            uuidRepresentation="standard",
        )
        self.db = self.client[db_name]
        self.users = Users(self.db)

    async def ensure_indexes(self) -> None:
        await self.users.ensure_indexes()

    async def ping(self) -> bool:
        try:
            await self.db.command("ping")
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
        return True

    def close(self) -> None:
        self.client.close()

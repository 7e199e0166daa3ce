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

from chatapp.models import CUSTOMER, GUEST, TEAM_ROLES, User


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
        role=doc.get("role", CUSTOMER),
        active=doc.get("active", True),
        display_name=doc.get("display_name", ""),
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

    async def create(self, username: str, email: str, password_hash: str, *,
                     role: str = CUSTOMER, display_name: str = "") -> User:
        doc = {
            "username": username,
            "username_key": username.casefold(),
            "email": email,
            "email_key": email.casefold(),
            "password_hash": password_hash,
            "token_version": 0,
            "created_at": now(),
            "role": role,
            "active": True,
            "display_name": display_name,
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

    async def by_email(self, email: str) -> User | None:
        doc = await self._col.find_one({"email_key": email.strip().casefold()})
        return _user(doc) if doc else None

    async def revoke_sessions(self, user_id: str) -> None:
        """Invalidate every token issued so far (log-out everywhere that token is used)."""
        oid = _object_id(user_id)
        if oid:
            await self._col.update_one({"_id": oid}, {"$inc": {"token_version": 1}})

    async def update(self, user_id: str, fields: dict[str, Any], *, revoke: bool = False) -> User | None:
        """Change a user's role, activity, name or password hash; `revoke` ends their sessions."""
        oid = _object_id(user_id)
        if oid is None:
            return None
        change: dict[str, Any] = {"$set": fields} if fields else {}
        if revoke:
            change["$inc"] = {"token_version": 1}
        doc = await self._col.find_one_and_update({"_id": oid}, change, return_document=True)
        return _user(doc) if doc else None

    async def keep_guest(self, guest: User) -> User:
        """Store a guest's account the first time it writes (its id is the session's); it is
        kept as long as it keeps writing (`last_seen`)."""
        stamp = now()
        await self._col.update_one({"_id": ObjectId(guest.id)}, {
            "$setOnInsert": {"username": guest.username, "username_key": f"guest-{guest.id}",
                             "email": "", "email_key": f"guest-{guest.id}@guests.invalid",
                             "password_hash": "", "token_version": 0, "created_at": stamp,
                             "role": guest.role, "active": True, "display_name": guest.username,
                             "merged_into": ""},
            "$set": {"last_seen": int(stamp.timestamp() * 1000)}}, upsert=True)
        return await self.get(guest.id) or guest

    async def external(self, external_id: str, email: str, name: str) -> User:
        """The customer a website vouches for by its own user id, created the first time."""
        doc = await self._col.find_one({"external_id": external_id})
        if doc is not None:
            return _user(doc)
        oid = ObjectId()
        # Their email is shown to the team, but only unique (log-in) emails are keys: a site
        # user's email may already be an account of its own here.
        taken = bool(email) and await self._col.find_one({"email_key": email.casefold()}, {"_id": 1})
        key = email.casefold() if email and not taken else f"site-{oid}@site.invalid"
        await self._col.insert_one({
            "_id": oid, "username": name or f"Customer {str(oid)[-4:]}", "username_key": f"site-{oid}",
            "email": email, "email_key": key, "password_hash": "", "token_version": 0,
            "created_at": now(), "role": CUSTOMER, "active": True, "display_name": name,
            "external_id": external_id})
        return await self.get(str(oid))

    async def close_guest(self, guest_id: str, into: str) -> bool:
        """Mark a guest claimed by an account, once; its sessions end."""
        result = await self._col.update_one(
            {"_id": ObjectId(guest_id), "role": GUEST, "merged_into": ""},
            {"$set": {"merged_into": into, "active": False}, "$inc": {"token_version": 1}})
        return result.modified_count == 1

    async def stale_guests(self, before: datetime) -> list[str]:
        cursor = self._col.find({"role": GUEST, "merged_into": "",
                                 "last_seen": {"$lt": int(before.timestamp() * 1000)}}, {"_id": 1})
        return [str(doc["_id"]) async for doc in cursor]

    async def delete_many(self, user_ids: list[str]) -> None:
        if user_ids:
            await self._col.delete_many({"_id": {"$in": [ObjectId(i) for i in user_ids]}})

    async def team(self) -> list[User]:
        cursor = self._col.find({"role": {"$in": list(TEAM_ROLES)}}).sort("username_key", 1)
        return [_user(doc) async for doc in cursor]


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

"""The support team's accounts: the first admin from the command line, invitations, one-time
password links, and deactivation (which ends the member's sessions at once).

One-time links carry a random token; only its SHA-256 is stored, with what it is for, when it
expires and whether it was used, so a copied database cannot be turned into live links.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ReturnDocument

from chatapp.models import ADMIN, TEAM_ROLES, User
from chatapp.services.auth import Accounts, SignupRejected, hash_password, validate_signup
from chatapp.services.store import DuplicateUser, Users

INVITE_LIFETIME = timedelta(days=3)
PASSWORD_LINK_LIFETIME = timedelta(hours=24)
INVITE, PASSWORD = "invite", "password"


class TeamError(Exception):
    """The request cannot be done; `str(error)` says why, for the person who asked."""


@dataclass(frozen=True)
class Invitation:
    email: str
    role: str
    token: str  # only ever shown once, to the admin who made it
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class Team:
    def __init__(self, db: AsyncIOMotorDatabase, users: Users, accounts: Accounts) -> None:
        self._links = db["account_links"]
        self.users = users
        self.accounts = accounts

    async def ensure_indexes(self) -> None:
        await self._links.create_index("digest", unique=True, name="one_per_token")

    def _admin(self, actor: User) -> None:
        if not actor.is_admin:
            raise TeamError("Only an admin can manage the team.")

    async def members(self, actor: User) -> list[User]:
        if not actor.on_team:
            raise TeamError("Only the support team can see the team.")
        return await self.users.team()

    async def _link(self, kind: str, email: str, role: str, lifetime: timedelta, by: str) -> Invitation:
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + lifetime
        await self._links.insert_one({"digest": _digest(token), "kind": kind, "email": email,
                                      "role": role, "expires_at": _ms(expires), "used": False,
                                      "by": by})
        return Invitation(email, role, token, expires)

    async def invite(self, actor: User, email: str, role: str) -> Invitation:
        """A one-time link that creates a team account for `email` (or promotes its customer
        account), valid for three days."""
        self._admin(actor)
        email = email.strip()
        if role not in TEAM_ROLES:
            raise TeamError("Choose the role: agent or admin.")
        if "email" in validate_signup("placeholder", email, "placeholder"):
            raise TeamError("Enter a valid email address, like name@example.com.")
        existing = await self.users.by_email(email)
        if existing is not None and existing.on_team:
            raise TeamError(f"{email} is already on the team.")
        return await self._link(INVITE, email, role, INVITE_LIFETIME, actor.id)

    async def link_for(self, token: str) -> dict | None:
        """What a one-time link is for ({kind, email, role}), if it is valid and unused."""
        doc = await self._links.find_one({"digest": _digest(token)}) if token else None
        if doc is None or doc["used"] or doc["expires_at"] < _ms(datetime.now(UTC)):
            return None
        return {"kind": doc["kind"], "email": doc["email"], "role": doc["role"]}

    async def _use(self, token: str) -> dict:
        doc = await self._links.find_one_and_update(
            {"digest": _digest(token), "used": False, "expires_at": {"$gte": _ms(datetime.now(UTC))}},
            {"$set": {"used": True}}, return_document=ReturnDocument.AFTER)
        if doc is None:
            raise TeamError("This link has expired or was already used. Ask an admin for a new one.")
        return doc

    async def accept(self, token: str, username: str, name: str, password: str) -> tuple[User, str]:
        """Use a one-time link: join the team (invite) or set a password; (user, session token)."""
        link = await self.link_for(token)
        if link is None:
            raise TeamError("This link has expired or was already used. Ask an admin for a new one.")
        existing = await self.users.by_email(link["email"])
        if existing is None:
            errors = validate_signup(username.strip(), link["email"], password)
            if errors:
                raise SignupRejected(errors)
        elif len(password) < 8:
            raise SignupRejected({"password": "Use at least 8 characters."})
        doc = await self._use(token)
        password_hash = await asyncio.to_thread(hash_password, password)
        name = " ".join(name.split())[:40]
        if existing is None:
            try:
                user = await self.users.create(username.strip(), doc["email"], password_hash,
                                               role=doc["role"], display_name=name)
            except DuplicateUser as taken:
                raise SignupRejected({taken.field: "That username is already taken."}) from None
        else:
            fields = {"password_hash": password_hash, "active": True}
            if doc["kind"] == INVITE:
                fields["role"] = doc["role"]
            if name:
                fields["display_name"] = name
            user = await self.users.update(existing.id, fields, revoke=True)
        return user, self.accounts.tokens.issue(user)

    async def set_active(self, actor: User, user_id: str, active: bool) -> User:
        """Deactivate (sessions end at once, the inbox refuses them) or reactivate a member."""
        self._admin(actor)
        if user_id == actor.id:
            raise TeamError("You cannot deactivate yourself.")
        member = await self.users.get(user_id)
        if member is None or member.role not in TEAM_ROLES:
            raise TeamError("No such team member.")
        return await self.users.update(user_id, {"active": active}, revoke=not active)

    async def make_admin(self, email: str, password: str | None) -> tuple[User | None, Invitation | None]:
        """For `make admin`: create or promote the account, then set its password or return a
        one-time link to set it."""
        email = email.strip()
        if "email" in validate_signup("placeholder", email, "placeholder"):
            raise TeamError("Enter a valid email address, like admin@example.com.")
        if password is not None and len(password) < 8:
            raise TeamError("The password must have at least 8 characters.")
        user = await self.users.by_email(email)
        if user is None:
            username = _username_for(email)
            while await self.users.find_for_login(username):
                username = f"{_username_for(email)[:26]}-{secrets.token_hex(2)}"
            placeholder = hash_password(password or secrets.token_urlsafe(24))
            user = await self.users.create(username, email, placeholder, role=ADMIN, display_name=username)
        else:
            fields = {"role": ADMIN, "active": True}
            if password is not None:
                fields["password_hash"] = hash_password(password)
            user = await self.users.update(user.id, fields, revoke=True)
        if password is not None:
            return user, None
        return user, await self._link(PASSWORD, email, ADMIN, PASSWORD_LINK_LIFETIME, "command line")


def _username_for(email: str) -> str:
    local = "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in email.split("@")[0])[:32]
    return local if len(local) >= 3 else f"{local}-admin"


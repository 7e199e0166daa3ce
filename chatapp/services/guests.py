"""Visitors who chat without signing up, and customers a website vouches for.

A guest is only a signed session at first (no account): the account is made with the first
message, so a visitor who opens the widget and leaves costs nothing. A guest may leave an email
for the team; if they sign up or log in later, their conversations move to that account, once.
Unclaimed guests are deleted after GUEST_RETENTION_DAYS.

A site whose users are logged in passes them to the widget with `Helpdesk.identify(...)`: the
site's server signs the user's id with WIDGET_IDENTITY_SECRET (HMAC-SHA256), and a valid
signature opens that customer's conversations; a missing or wrong one is a guest, and never
sees anyone's history.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from chatapp.models import GUEST, User
from chatapp.services.auth import EMAIL_RE
from chatapp.services.cache import HistoryCache
from chatapp.services.store import Users
from chatapp.services.threads import Threads

log = logging.getLogger(__name__)
MAX_EXTERNAL_ID = 128


class GuestError(Exception):
    """What a guest asked cannot be done; `str(error)` says why."""


def new_guest() -> User:
    """A guest session's user: an id and a name, stored only once it writes."""
    oid = ObjectId()
    return User(id=str(oid), username=f"Guest {str(oid)[-4:]}", email="", token_version=0,
                created_at=datetime.now(UTC), role=GUEST)


def identity_hash(secret: str, user_id: str) -> str:
    """What the site's server computes: HMAC-SHA256 of the user's id with the shared secret."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class Guests:
    def __init__(self, users: Users, threads: Threads, cache: HistoryCache, *,
                 identity_secret: str, retention_days: int) -> None:
        self.users = users
        self.threads = threads
        self.cache = cache
        self.identity_secret = identity_secret
        self.retention = timedelta(days=retention_days)

    async def keep(self, guest: User) -> User:
        """Store a guest's account (when it first writes); the stored one after that."""
        return await self.users.keep_guest(guest)

    async def leave_email(self, guest: User, email: str) -> User:
        """A guest's email, so the team can follow up; shown with their conversations."""
        email = email.strip()
        if not guest.is_guest:
            raise GuestError("Only a guest can leave an email here.")
        if len(email) > 254 or not EMAIL_RE.fullmatch(email):
            raise GuestError("Enter a valid email address, like name@example.com.")
        stored = await self.users.keep_guest(guest)
        await self.users.update(stored.id, {"email": email})
        await self.threads.set_customer(stored.id, stored.name, email, guest=True)
        return await self.users.get(stored.id)

    async def identified(self, user_id: str, email: str, name: str, user_hash: str) -> User | None:
        """The customer the site vouches for (created the first time), or None when the
        signature is missing or wrong (or identity is not configured)."""
        if not self.identity_secret or not user_id or len(user_id) > MAX_EXTERNAL_ID:
            return None
        if not hmac.compare_digest(identity_hash(self.identity_secret, user_id), user_hash or ""):
            log.info("widget identity refused: wrong signature")
            return None
        email = email.strip() if len(email) <= 254 and EMAIL_RE.fullmatch(email.strip()) else ""
        name = re.sub(r"\s+", " ", name).strip()[:40]
        return await self.users.external(user_id, email, name)

    async def claim(self, guest: User | None, account: User) -> int:
        """Move a guest's conversations to the account it signed up, logged in or was identified
        as; once (the guest is then closed for good). How many conversations moved."""
        if guest is None or not guest.is_guest or guest.id == account.id:
            return 0
        if not await self.users.close_guest(guest.id, account.id):
            return 0  # never stored (it wrote nothing), or already claimed
        moved = await self.threads.move(guest.id, account.id, account.name, account.email)
        await self.cache.invalidate(guest.id)
        await self.cache.invalidate(account.id)
        log.info("guest conversations claimed", extra={"user_id": account.id, "moved": moved})
        return moved

    async def purge(self) -> int:
        """Delete guests unclaimed for the retention period, with their conversations."""
        gone = await self.users.stale_guests(datetime.now(UTC) - self.retention)
        for guest_id in gone:
            await self.threads.clear(guest_id)
            await self.cache.invalidate(guest_id)
        await self.users.delete_many(gone)
        if gone:
            log.info("guests deleted after the retention period", extra={"count": len(gone)})
        return len(gone)

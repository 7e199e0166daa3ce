"""Who the tab belongs to, checked on every event from the HttpOnly cookie sent on the event
socket's handshake.

Reflex state is per browser tab, not per user, and it outlives the session: after a log-out, or
with another user's cookie on the same tab token, a reconnecting socket would be sent the old
user's sidebar by `hydrate`. So `SessionGuard` runs before every event handler (hydrate and
background ones included): it verifies the session, and when the user behind the tab is not the
one its state was filled for, empties every state that holds user data before anything is read
or sent. Handlers then ask `signed_in(self)` for the user verified for this very event.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import reflex as rx
from reflex.middleware import Middleware

from chatapp import cookies
from chatapp.models import User
from chatapp.runtime import services
from chatapp.services.store import StoreUnavailable

USER_STATES: list[type[rx.State]] = []  # states holding one user's data, emptied on a change


def holds_user_data(cls: type[rx.State]) -> type[rx.State]:
    """Class decorator: this state is emptied when the tab's user changes or logs out."""
    USER_STATES.append(cls)
    return cls


def outbox_key(user: User) -> str:
    """The browser outbox's key for this user: stable, and not their id."""
    secret = services().settings.jwt_secret.encode()
    return hmac.new(secret, f"outbox:{user.id}".encode(), hashlib.sha256).hexdigest()[:20]


class SessionState(rx.State):
    """What pages show of the signed-in user; their id stays on the backend."""

    username: str = ""
    role: str = ""
    outbox: str = ""  # the outbox key (see `outbox_key`)
    unsent: int = 0  # messages in this browser's outbox not yet stored
    _user: User | None = None  # verified by SessionGuard for the event being handled
    _for: str = ""  # the session the tab's state was filled for
    _store_down: bool = False
    _reconnected: bool = False  # this event's page hydrated again after losing its socket

    @rx.event
    def set_unsent(self, count: Any):
        self.unsent = count if isinstance(count, int) and 0 <= count < 10_000 else 0

    @rx.event
    def route_home(self):
        """`/` sends a visitor to their page when logged in, else to log in."""
        return rx.redirect(home(self._user), replace=True)

    @rx.event
    def leave_if_logged_in(self):
        """Log-in and sign-up pages are pointless with a session: go to the user's page."""
        if self._user is not None:
            return rx.redirect(home(self._user), replace=True)


def home(user: User | None) -> str:
    if user is None or user.is_guest:
        return "/login"
    return "/inbox" if user.on_team else "/chat"


async def signed_in(state: rx.State) -> User | None:
    """The user verified for the event being handled (None: nobody, or the database is down)."""
    return (await state.get_state(SessionState))._user


def not_for_team(user: User | None):
    """Where a team page sends whoever is not on the team (log-in, or the customer's chat);
    None for a team member."""
    if user is None:
        return rx.redirect("/login", replace=True)
    return None if user.on_team else rx.redirect("/chat", replace=True)


async def reconnected(state: rx.State) -> bool:
    """The page is loading again because its socket came back, not because it was opened or
    navigated to (asked once, by the page's load)."""
    session = await state.get_state(SessionState)
    again, session._reconnected = session._reconnected, False
    return again


async def store_down(state: rx.State) -> bool:
    return (await state.get_state(SessionState))._store_down


class SessionGuard(Middleware):
    async def preprocess(self, app, state, event):
        session = await state.get_state(SessionState)
        # A page's first hydrate names the initial state it holds; a reconnect's does not.
        if event.name.endswith(".hydrate_and_load"):
            session._reconnected = not event.payload.get("hashes")
        headers = (state.router_data or {}).get("headers", {})
        jar = cookies.from_header(headers.get("cookie", ""))
        token = cookies.session_token(services().settings, jar)
        try:
            user = await services().accounts.authenticate(token)
        except StoreUnavailable:
            session._user, session._store_down = None, True
            return None
        session._store_down = False
        fingerprint = f"{user.id}:{user.token_version}" if user else ""
        if fingerprint != session._for:
            for cls in USER_STATES:
                (await state.get_state(cls)).reset()
            session.username = session.role = session.outbox = ""
            session.unsent = 0
            session._for = fingerprint
        session._user = user
        if user is not None:
            session.username, session.role, session.outbox = user.name, user.role, outbox_key(user)
        return None

"""Who the tab belongs to, read from the HttpOnly cookie sent on the event socket's handshake."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

import reflex as rx

from chatapp.models import User
from chatapp.runtime import services


def _cookie(header: str, name: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


class SessionState(rx.State):
    """The logged-in user's name for display; the user id stays on the backend."""

    username: str = ""

    async def current_user(self) -> User | None:
        """Re-checked by every privileged handler: a page guard alone is not enough."""
        app = services()
        token = _cookie(self.router.headers.cookie, app.settings.cookie_name)
        return await app.accounts.authenticate(token)

    @rx.event
    async def route_home(self):
        """`/` sends a visitor to the chat when logged in, else to log in."""
        user = await self.current_user()
        return rx.redirect("/chat" if user else "/login", replace=True)

    @rx.event
    async def leave_if_logged_in(self):
        """Log-in and sign-up pages are pointless with a session: go to the chat."""
        if await self.current_user():
            return rx.redirect("/chat", replace=True)

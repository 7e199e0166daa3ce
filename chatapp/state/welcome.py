"""/welcome/<token>: an invitation to the team, or a link from `make admin` to set a password.
The form posts to the auth route (which sets the session cookie); this state only says what the
link is for, or that it has expired."""

from __future__ import annotations

import reflex as rx

from chatapp.runtime import services
from chatapp.services.team import INVITE


class WelcomeState(rx.State):
    token: str = ""
    email: str = ""
    role: str = ""
    invite: bool = False  # a new member picks a username and a display name too
    expired: bool = False

    @rx.event
    async def load(self):
        parts = [part for part in self.router.url.path.split("/") if part]
        token = parts[1] if len(parts) == 2 and len(parts[1]) <= 100 else ""
        link = await services().team.link_for(token)
        self.expired = link is None
        self.token = token if link else ""
        self.email, self.role = (link["email"], link["role"]) if link else ("", "")
        self.invite = bool(link and link["kind"] == INVITE and
                           await services().store.users.by_email(link["email"]) is None)

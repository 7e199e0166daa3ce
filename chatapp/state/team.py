"""The team page (/inbox/team, admins only): members and their presence, invitations (one-time
links that expire), and deactivation, which ends the member's sessions at once."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chatapp.runtime import services
from chatapp.services.team import TeamError
from chatapp.state import args
from chatapp.state.session import holds_user_data, signed_in


@holds_user_data
class TeamState(rx.State):
    members: list[dict[str, str]] = []
    invite_link: str = ""
    invite_note: str = ""
    error: str = ""

    @rx.event
    async def load(self):
        user = await signed_in(self)
        if user is None:
            return rx.redirect("/login", replace=True)
        if not user.is_admin:
            return rx.redirect("/inbox" if user.on_team else "/chat", replace=True)
        self.invite_link = self.invite_note = self.error = ""
        await self._members()

    async def _members(self) -> None:
        user = await signed_in(self)
        if user is None:
            return
        statuses = await services().presence.statuses()
        self.members = [{"id": m.id, "name": m.name, "email": m.email, "role": m.role,
                         "active": "yes" if m.active else "no",
                         "presence": statuses.get(m.id, "offline") if m.active else "deactivated"}
                        for m in await services().team.members(user)]

    @rx.event
    async def invite(self, form_data: Any):
        form = args.fields(form_data, "email", "role")
        email, role = args.text(form and form["email"], 254), args.text(form and form["role"], 10)
        user = await signed_in(self)
        if user is None or email is None or role is None:
            return
        try:
            invitation = await services().team.invite(user, email, role)
        except TeamError as refused:
            self.error, self.invite_link = str(refused), ""
            return
        self.error = ""
        self.invite_link = f"{services().settings.frontend_origins[0]}/welcome/{invitation.token}"
        self.invite_note = (f"Send this link to {invitation.email}: it makes them {invitation.role} "
                            f"and works once, until {invitation.expires_at:%-d %B %H:%M} UTC.")

    async def _set_active(self, user_id: str, active: bool) -> None:
        user, member = await signed_in(self), args.object_id(user_id)
        if user is None or member is None:
            return
        try:
            await services().team.set_active(user, member, active)
        except TeamError as refused:
            self.error = str(refused)
            return
        await self._members()

    @rx.event
    async def deactivate(self, user_id: Any):
        await self._set_active(user_id, False)

    @rx.event
    async def reactivate(self, user_id: Any):
        await self._set_active(user_id, True)

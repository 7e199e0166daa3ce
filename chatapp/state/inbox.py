"""The team inbox (/inbox): which conversation an agent has open, who its customer is, and the
actions on it (claim, assign, hand back, close, reply, suggest a reply).

The queue itself is not here: the page reads it from the team's stream (`chatapp/live.py`),
so one new handoff costs every agent one small event, not a re-sent list. Each handler checks
its arguments and the session; the conversations service checks the role.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

import reflex as rx

from chatapp.config import get_settings
from chatapp.models import ASSIGNED, CLOSED, WAITING
from chatapp.runtime import services
from chatapp.services.conversations import NotAllowed, SendRejected, ThreadNotFound
from chatapp.services.feed import queue_row
from chatapp.state import args
from chatapp.state.outbox import with_refusal
from chatapp.state.session import holds_user_data, not_for_team, signed_in

log = logging.getLogger(__name__)


def _since(when: datetime | None) -> str:
    return f"{when:%-d %B %Y}" if when else ""


@holds_user_data
class InboxState(rx.State):
    selected: str = ""  # the open conversation's id
    status: str = ""
    assignee: str = ""  # agent id
    assignee_name: str = ""
    title: str = ""
    customer_name: str = ""
    customer_email: str = ""
    customer_since: str = ""
    customer_guest: bool = False  # a visitor of the website widget, without an account
    others: list[dict[str, str]] = []  # the customer's other conversations
    team: list[dict[str, str]] = []  # who a conversation can be assigned to
    me: str = ""  # the agent's own id, for the "Mine" view
    query: str = ""
    results: list[dict] = []  # search results, as queue rows
    suggestion: dict[str, str] = {}
    refused: list[dict[str, str]] = []
    notice: str = ""

    @rx.var
    def stream_src(self) -> str:
        if not self.selected:
            return ""
        return f"{get_settings().api_url}/api/conversations/{self.selected}/events"

    @rx.var
    def queue_src(self) -> str:
        return f"{get_settings().api_url}/api/inbox/events"

    async def _agent(self):
        user = await signed_in(self)
        return user if user is not None and user.on_team else None

    @rx.event
    async def load(self):
        """The inbox, with the conversation named by `?c=` open; customers are sent to /chat."""
        user = await signed_in(self)
        if (away := not_for_team(user)) is not None:
            return away
        self.me, self.notice = user.id, ""
        self.team = [{"id": m.id, "name": m.name} for m in await services().store.users.team() if m.active]
        await self._open(args.chat_id(self.router.url.query_parameters.get("c", "")) or "")

    async def _open(self, chat_id: str) -> None:
        agent = await self._agent()
        self.selected = ""
        if agent is None or not chat_id:
            return
        conversations = services().conversations
        try:
            thread = await conversations.visible(agent, chat_id)
            customer, others = await conversations.customer(agent, thread)
            await conversations.mark_read(agent, chat_id)
        except (ThreadNotFound, NotAllowed):
            self.notice = "That conversation no longer exists."
            return
        self.selected, self.status, self.title = thread.id, thread.status, thread.title
        self.assignee, self.assignee_name = thread.assignee, thread.assignee_name
        self.customer_name = thread.customer_name or (customer.name if customer else "")
        self.customer_email = thread.customer_email or (customer.email if customer else "")
        self.customer_since = _since(customer.created_at if customer else None)
        self.customer_guest = thread.guest
        self.others = [{"id": t.id, "title": t.title, "status": t.status} for t in others]
        self.suggestion, self.refused = {}, []

    @rx.event
    async def refresh(self, row: Any):
        """The queue saw the open conversation change (another agent claimed it, say): read it again."""
        if isinstance(row, dict) and row.get("id") == self.selected and self.selected:
            await self._open(self.selected)

    async def _act(self, action, *extra) -> None:
        agent = await self._agent()
        if agent is None or not self.selected:
            return
        try:
            await action(agent, self.selected, *extra)
        except NotAllowed as refused:
            self.notice = str(refused)
            return
        except ThreadNotFound:
            self.notice = "That conversation no longer exists."
            return
        await self._open(self.selected)

    @rx.event
    async def claim(self):
        await self._act(services().conversations.claim)

    @rx.event
    async def assign(self, user_id: Any):
        user_id = args.object_id(user_id)
        if user_id is not None:
            await self._act(services().conversations.assign, user_id)

    @rx.event
    async def hand_back(self):
        await self._act(services().conversations.hand_back)

    @rx.event
    async def close(self):
        await self._act(services().conversations.close)

    @rx.event
    async def reply(self, message: Any):
        form = args.fields(message, "client_id", "chat_id", "text")
        client_id = args.client_id(form and form["client_id"])
        chat_id, text = args.chat_id(form and form["chat_id"]), args.text(form and form["text"])
        if client_id is None or chat_id is None or text is None:
            return
        agent = await self._agent()
        if agent is None:
            return rx.redirect("/login", replace=True)
        try:
            await services().conversations.reply(agent, chat_id, text, client_id)
        except SendRejected as rejected:
            self.refused = with_refusal(self.refused, client_id, str(rejected))
            return
        except (ThreadNotFound, NotAllowed):
            self.refused = with_refusal(self.refused, client_id, "You cannot reply in this conversation.")
            return
        if chat_id == self.selected:
            await self._open(chat_id)

    @rx.event
    async def suggest(self):
        """Draft a reply from the knowledge base into the composer; nothing is sent."""
        agent = await self._agent()
        if agent is None or not self.selected:
            return
        try:
            text = await services().conversations.suggest(agent, self.selected)
        except (ThreadNotFound, NotAllowed):
            return
        self.suggestion = {"text": text, "nonce": secrets.token_hex(4)}

    @rx.event
    async def search(self, form_data: Any):
        form = args.fields(form_data, "q")
        query = " ".join((args.text(form and form["q"], 200) or "").split())
        agent = await self._agent()
        if agent is None:
            return
        self.query = query
        self.results = [queue_row(t) for t in await services().conversations.search(agent, query)]

    @rx.event
    def clear_search(self):
        self.query, self.results = "", []

    @rx.var
    def can_claim(self) -> bool:
        return self.status != ASSIGNED or self.assignee != self.me

    @rx.var
    def with_team(self) -> bool:
        return self.status in (WAITING, ASSIGNED)

    @rx.var
    def is_closed(self) -> bool:
        return self.status == CLOSED

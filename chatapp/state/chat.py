"""The customer's chat page: the sidebar and which conversation the page shows.

The conversation itself never passes through this state: the page reads it from its stream of
events (`chatapp/live.py`) and sends through the composer's `on_send`. Handlers here check their
arguments (`args`) and the session (`signed_in`), then call the conversations service.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import Any
from urllib.parse import urlencode

import reflex as rx

from chatapp.config import get_settings
from chatapp.models import Thread
from chatapp.runtime import services
from chatapp.services.conversations import STORE_DOWN, NotAllowed, SendRejected, ThreadNotFound
from chatapp.services.guests import GuestError
from chatapp.state import args
from chatapp.state.outbox import with_refusal
from chatapp.state.session import holds_user_data, home, reconnected, signed_in, store_down

log = logging.getLogger(__name__)
NOT_UNDERSTOOD = "The message was not understood. Reload the page and try again."
GONE = "This conversation no longer exists."


def _row(thread: Thread) -> dict[str, str]:
    return {"id": thread.id, "title": thread.title}


@holds_user_data
class ChatState(rx.State):
    threads: list[dict[str, str]] = []
    thread_id: str = ""  # the conversation shown; for a new chat, the id it will be stored under
    draft: bool = False  # the page opened as a new chat
    not_found: bool = False
    refused: list[dict[str, str]] = []  # the last messages the server would not store, and why
    in_widget: bool = False  # the page is the website widget (/widget), not /chat
    needs_session: bool = False  # a visitor with no session yet: the page asks for a guest's
    guest: bool = False
    guest_email: str = ""
    notice: str = ""

    @rx.var
    def stream_src(self) -> str:
        if not self.thread_id or self.not_found:
            return ""
        return f"{get_settings().api_url}/api/conversations/{self.thread_id}/events"

    @rx.var
    def stored(self) -> bool:
        """The conversation shown is stored (it is in the sidebar), so it can be downloaded."""
        return any(row["id"] == self.thread_id for row in self.threads) and not self.not_found

    @rx.var
    def path(self) -> str:
        """The address a new chat takes once it exists ("" in the widget, whose address stays)."""
        if self.in_widget:
            return ""
        return f"/chat/{self.thread_id}" if self.thread_id else "/chat"

    widget_query: str = ""  # "?host=<the embedding site>", kept on the widget's own links

    def _remember_host(self) -> None:
        host = args.text(self.router.url.query_parameters.get("host", ""), 200) or ""
        self.widget_query = f"?{urlencode({'host': host})}" if host else ""

    @rx.event
    def remember_widget_host(self):
        self._remember_host()

    def _requested(self) -> str:
        """The conversation the address names: /chat/<id>, or /widget?c=<id>."""
        parts = [part for part in self.router.url.path.split("/") if part]
        if parts[:1] == ["widget"]:
            return str(self.router.url.query_parameters.get("c", ""))
        return parts[1] if len(parts) >= 2 and parts[0] == "chat" else ""

    def _refuse(self, client_id: str, reason: str) -> None:
        self.refused = with_refusal(self.refused, client_id, reason)

    async def _sidebar(self) -> None:
        user = await signed_in(self)
        if user is not None:
            self.threads = [_row(t) for t in await services().conversations.sidebar(user)]

    @rx.event
    async def load(self):
        """Open the conversation named by the URL (or a new chat), and the user's sidebar. The
        widget opens the latest conversation, so a visitor finds theirs again on every visit."""
        self.in_widget = [p for p in self.router.url.path.split("/") if p][:1] == ["widget"]
        if self.in_widget:
            self._remember_host()
        user = await signed_in(self)
        guests_welcome = self.in_widget or services().settings.guest_chat
        self.needs_session = user is None and guests_welcome and not await store_down(self)
        if self.needs_session:
            return
        if user is None or user.on_team or (user.is_guest and not guests_welcome):
            return rx.redirect(home(user) if user else "/login", replace=True)
        self.guest, self.guest_email = user.is_guest, user.email if user.is_guest else ""
        requested = self._requested()
        self.not_found, self.refused, self.notice = False, [], ""
        await self._sidebar()
        again = await reconnected(self)
        if again and self.in_widget and self.thread_id and not self.draft:
            requested = self.thread_id  # the widget's address never names its conversation
        elif not requested and self.in_widget and self.threads and not again:
            requested = self.threads[0]["id"]  # opened again: the latest conversation
        if not requested:
            # A new chat. After a reconnect it keeps its id, also once its first message (sent as
            # the socket came back) made it a conversation: the answer shows here and the address
            # follows. Opened, it starts fresh.
            if not (again and self.draft and self.thread_id):
                self.thread_id = secrets.token_hex(8)
            self.draft = True
            return
        self.draft = False
        if args.chat_id(requested) is None:
            self.thread_id, self.not_found = "", True
            return
        try:
            await services().conversations.visible(user, requested)
        except ThreadNotFound:
            self.thread_id, self.not_found = "", True
            return
        self.thread_id = requested
        log.info("thread opened", extra={"chat_id": requested})  # which worker serves this tab

    @rx.event
    async def send(self, message: Any):
        """Store a message the composer sent ({client_id, chat_id, text}); the conversation's
        stream then shows it (and its answer). A replay stores nothing new."""
        form = args.fields(message, "client_id", "chat_id", "text")
        client_id = args.client_id(form and form["client_id"])
        chat_id, text = args.chat_id(form and form["chat_id"]), args.text(form and form["text"])
        if client_id is None or chat_id is None or text is None:
            if client_id is not None:
                self._refuse(client_id, NOT_UNDERSTOOD)
            return
        user = await signed_in(self)
        if user is None:
            if await store_down(self):
                self._refuse(client_id, STORE_DOWN)
                return
            return rx.redirect("/login", replace=True)
        try:
            thread, _, created = await services().conversations.post(user, chat_id, text, client_id)
        except SendRejected as rejected:
            self._refuse(client_id, str(rejected))
            return
        except (ThreadNotFound, NotAllowed):
            self._refuse(client_id, GONE)
            return
        if thread.id != self.thread_id:  # a resent message that was stored in another conversation
            return rx.redirect(f"/chat/{thread.id}", replace=True)
        if not self.threads or self.threads[0]["id"] != thread.id:  # the sidebar, in one update
            self.threads = [_row(thread), *(t for t in self.threads if t["id"] != thread.id)]
        elif created and self.threads[0]["title"] != thread.title:
            self.threads = [_row(thread), *self.threads[1:]]

    @rx.event
    def new_conversation(self):
        """The widget's "New conversation" (its address does not change)."""
        self.thread_id, self.draft, self.not_found, self.refused = secrets.token_hex(8), True, False, []

    @rx.event
    async def open_conversation(self, chat_id: Any):
        """The widget's past conversations, one chosen."""
        user, chat_id = await signed_in(self), args.chat_id(chat_id)
        if user is None or chat_id is None:
            return
        try:
            await services().conversations.visible(user, chat_id)
        except ThreadNotFound:
            return
        self.thread_id, self.draft, self.not_found = chat_id, False, False

    @rx.event
    async def leave_email(self, form_data: Any):
        """A guest's email, so the team can follow up."""
        form = args.fields(form_data, "email")
        email, user = args.text(form and form["email"], 254), await signed_in(self)
        if user is None or email is None or not user.is_guest:
            return
        try:
            stored = await services().guests.leave_email(user, email)
        except GuestError as refused:
            self.notice = str(refused)
            return
        self.guest_email, self.notice = stored.email, "Thanks: the team can now follow up by email."

    async def _in_thread(self, action) -> None:
        user = await signed_in(self)
        if user is None or not self.thread_id or self.not_found:
            return
        with contextlib.suppress(ThreadNotFound):  # a conversation deleted meanwhile
            await action(user, self.thread_id)

    @rx.event
    async def retry(self):
        await self._in_thread(services().conversations.retry)

    @rx.event
    async def stop(self):
        await self._in_thread(services().conversations.stop)

    @rx.event
    async def talk_to_person(self):
        """"Talk to a person": the team's queue. In a new chat with nothing written yet there is
        nothing to hand over: the page keeps the draft, and the first message goes to the team."""
        await self._in_thread(services().conversations.request_person)

    @rx.event
    async def rename(self, form_data: Any):
        form = args.fields(form_data, "chat_id", "title")
        chat_id, title = args.chat_id(form and form["chat_id"]), args.text(form and form["title"], 500)
        user = await signed_in(self)
        title = " ".join((title or "").split())[:120]
        if user is None or chat_id is None or not title:
            return
        await services().conversations.rename(user, chat_id, title)
        await self._sidebar()

    @rx.event
    async def delete_thread(self, chat_id: Any):
        chat_id = args.chat_id(chat_id)
        user = await signed_in(self)
        if user is None or chat_id is None:
            return
        await services().conversations.delete(user, chat_id)
        await self._sidebar()
        if chat_id == self.thread_id:
            return rx.redirect("/chat", replace=True)

    @rx.event
    async def clear_history(self):
        user = await signed_in(self)
        if user is None:
            return
        await services().conversations.clear(user)
        self.threads, self.thread_id = [], ""
        return rx.redirect("/chat", replace=True)

"""The chat page's state: the sidebar, the open thread and the turns added in this tab.

The answer being written never passes through state: the page reads it from the live route
(`chatapp/live.py`), and state only learns when it is stored. The thread's earlier messages
live in their own substate, and each message added in this tab is sent to the page once, so
a new turn costs the same however long the thread or the session.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TypedDict

import reflex as rx

from chatapp.models import ArticleLink, Message, Thread
from chatapp.runtime import services
from chatapp.services.answer import Answer
from chatapp.services.chat import STORE_DOWN, SendRejected, ThreadNotFound
from chatapp.services.knowledge import cited_articles
from chatapp.services.store import StoreUnavailable
from chatapp.state.session import SessionState

log = logging.getLogger(__name__)


class MessageRow(TypedDict):
    id: str
    role: str
    content: str
    status: str
    sources: list[ArticleLink]  # cited articles, looked up when the row is made: no re-retrieval


def _rows(messages: list[Message]) -> list[MessageRow]:
    """Rows for the page; the knowledge base is asked for once (it checks its folder each time)."""
    kb = services().knowledge() if any(m.sources for m in messages) else None
    return [{"id": m.id, "role": m.role, "content": m.content, "status": m.status,
             "sources": [{"slug": slug, "title": title}
                         for slug, title in (cited_articles(kb, m.sources) if kb else [])]}
            for m in messages]


def _thread_row(thread: Thread) -> dict[str, str]:
    return {"id": thread.id, "title": thread.title}


# After the thread renders, show its end; from then on CSS scroll anchoring follows new text.
SCROLL_TO_END = ("requestAnimationFrame(() => document.getElementById('scroll-anchor')"
                 "?.scrollIntoView({block: 'end'}))")


def _outbox(verdict: str, client_id: str, reason: str = ""):
    """Tell the page's outbox (components/outbox.jsx) what became of a message it sent."""
    return rx.call_script(f"window.helpdeskOutbox?.{verdict}({json.dumps(client_id)}, {json.dumps(reason)})")


def _live_src(chat_id: str, answer: Answer) -> str:
    """`c` names the question's page id: a page that opened the stream as it sent takes it over."""
    return f"{services().settings.api_url}/api/chats/{chat_id}/live?c={answer.client_id}"


class ChatState(rx.State):
    threads: list[dict[str, str]] = []
    thread_id: str = ""
    not_found: bool = False
    view: int = 0  # which opening of a thread the page shows; turns added since carry it
    has_turns: bool = False  # messages were added in this tab since the thread was opened
    _last_shown: str = ""  # id of the last message on the page
    generating: bool = False
    live_src: str = ""
    _following: str = ""  # the thread whose answers this tab's follower shows
    notice: str = ""
    can_retry: bool = False
    _owner: str = ""

    async def _owner_id(self) -> str | None:
        """The session's user id, re-checked on every call (state is per tab, not per user)."""
        session = await self.get_state(SessionState)
        user = await session.current_user()
        session.username = user.username if user else ""
        self._owner = user.id if user else ""
        return self._owner or None

    def _path_chat_id(self) -> str:
        parts = [part for part in self.router.url.path.split("/") if part]
        return parts[1] if len(parts) >= 2 and parts[0] == "chat" else ""

    async def _refresh_threads(self, owner: str) -> None:
        self.threads = [_thread_row(t) for t in await services().threads.list(owner)]

    async def _show_history(self, messages: list[Message]) -> None:
        history = await self.get_state(HistoryState)
        history.messages = _rows(messages)
        self.view += 1
        self.has_turns = False
        self._last_shown = messages[-1].id if messages else ""

    def _add_turn(self, message: Message):
        """Send one new message to the page once (`Turns` in markdown_stream.jsx keeps it): a list
        var would re-send every message added in this tab on each change."""
        self.has_turns, self._last_shown = True, message.id
        row = json.dumps(_rows([message])[0])
        return rx.call_script(f"window.helpdeskTurns?.add({self.view}, {row})")

    async def _show_answer(self, message: Message, question_id: str):
        """The event that shows the answer under its question, or None when the thread was
        re-read instead (questions sent in a row were shown before their answers)."""
        if self._last_shown == question_id:
            return self._add_turn(message)
        await self._show_history(await services().chat.cache.history(self._owner, message.chat_id))
        return None

    async def _follow(self, chat_id: str):
        """Show the thread's answers as they are written (one follower per tab and thread)."""
        answer = await services().chat.running(self._owner, chat_id)
        self.generating = True
        if answer is not None:
            self.live_src = _live_src(chat_id, answer)
        return [] if self._following == chat_id else [ChatState.follow(chat_id)]

    @rx.event
    async def load(self):
        """Open the thread named by the URL (or a new chat), and the user's thread list."""
        owner = await self._owner_id()
        if owner is None:
            return rx.redirect("/login", replace=True)
        chat = services().chat
        chat_id = self._path_chat_id()
        self.thread_id, self.not_found, self.notice, self.can_retry = chat_id, False, "", False
        self.generating, self.live_src = False, ""
        await self._show_history([])
        await self._refresh_threads(owner)
        if not chat_id:
            return
        try:
            _, history = await chat.thread(owner, chat_id)
        except ThreadNotFound:
            self.thread_id, self.not_found = "", True
            return
        log.info("thread opened", extra={"chat_id": chat_id})  # which worker serves this tab
        await self._show_history(history)
        events = [rx.call_script(SCROLL_TO_END)]
        if await chat.busy(owner, chat_id):
            events += await self._follow(chat_id)
        elif history and history[-1].role == "user":
            self.can_retry = True
            self.notice = "This question has no answer: it was interrupted. Press Retry to ask again."
        return events

    @rx.event
    async def send(self, form_data: dict):
        """Store the question and start its answer; tell the page's outbox it arrived.

        The page sends each message once with its own id, and again after a reload if it
        never heard back; a replay stores nothing new and starts no second answer.
        """
        text = str(form_data.get("message", ""))
        client_id = str(form_data.get("client_id") or uuid.uuid4().hex)[:64]
        try:
            owner = await self._owner_id()
        except StoreUnavailable:
            self.notice, self.can_retry = STORE_DOWN, False
            yield _outbox("fail", client_id, STORE_DOWN)
            return
        if owner is None:
            yield rx.redirect("/login", replace=True)
            return
        chat = services().chat
        try:
            thread, message, created = await chat.ask(owner, self.thread_id or None, text, client_id)
        except SendRejected as rejected:
            self.notice, self.can_retry = str(rejected), False
            yield _outbox("fail", client_id, str(rejected))
            return
        except ThreadNotFound:
            self.not_found = True
            yield _outbox("fail", client_id, "This conversation no longer exists.")
            return
        if created or not await chat.answered(message):
            await chat.start(message)
        self.notice, self.can_retry = "", False
        events = [_outbox("ack", client_id), rx.call_script(SCROLL_TO_END)]
        if thread.id != self.thread_id:
            self.thread_id = thread.id
            events.append(rx.call_script(
                f"window.helpdeskOutbox?.moved({json.dumps(f'/chat/{thread.id}')})"))
            if not created:  # a replay that landed in a thread this page does not show yet
                await self._show_history(await chat.cache.history(owner, thread.id))
        if created:
            events.append(self._add_turn(message))
        if await chat.busy(owner, thread.id):
            events += await self._follow(thread.id)
        if not self.threads or self.threads[0]["id"] != thread.id:  # the sidebar, in one update
            self.threads = [_thread_row(thread), *(t for t in self.threads if t["id"] != thread.id)]
        yield events

    @rx.event
    def resync(self, _form: dict):
        """Back online: re-read the thread, since updates sent while offline were lost."""
        return ChatState.load

    @rx.event
    async def retry(self):
        owner = await self._owner_id()
        chat = services().chat
        if owner is None or not self.thread_id or await chat.busy(owner, self.thread_id):
            return
        history = await chat.cache.history(owner, self.thread_id)
        if not history or history[-1].role != "user":
            return
        await chat.start(history[-1])
        self.notice, self.can_retry = "", False
        return await self._follow(self.thread_id)

    @rx.event(background=True)
    async def follow(self, chat_id: str):
        """Show each answer of the thread as it is written and when it is stored, until none is
        being written; waiting happens off the state lock."""
        chat = services().chat
        async with self:
            if self._following == chat_id:
                return
            self._following, owner = chat_id, self._owner
        first = True
        while True:
            async with self:
                answer = await chat.running(owner, chat_id) if self.thread_id == chat_id else None
                if answer is None:
                    if self._following == chat_id:
                        self._following = ""
                    if self.thread_id == chat_id:
                        self.generating, self.live_src = False, ""
                        if first:  # it ended before we looked: show what was stored
                            await self._show_history(await chat.cache.history(owner, chat_id))
                    return
                self.generating, self.live_src = True, _live_src(chat_id, answer)
            first = False
            await answer.until_saved()
            shown = None
            async with self:
                if self.thread_id == chat_id:
                    if answer.message:
                        shown = await self._show_answer(answer.message, answer.question_id)
                    if answer.error:
                        self.notice, self.can_retry = answer.error, answer.message is None
            if shown is not None:
                yield shown

    @rx.event
    async def stop(self):
        owner = await self._owner_id()
        if owner and self.thread_id:
            await services().chat.stop(owner, self.thread_id)

    @rx.event
    async def rename(self, form_data: dict):
        owner = await self._owner_id()
        title = " ".join(str(form_data.get("title", "")).split())[:120]
        chat_id = str(form_data.get("chat_id", ""))
        if owner is None or not title:
            return
        await services().threads.rename(owner, chat_id, title)
        await self._refresh_threads(owner)

    @rx.event
    async def delete_thread(self, chat_id: str):
        owner = await self._owner_id()
        if owner is None:
            return
        await services().threads.delete(owner, chat_id)
        await services().cache.invalidate(owner, chat_id)
        await self._refresh_threads(owner)
        if chat_id == self.thread_id:
            return rx.redirect("/chat", replace=True)

    @rx.event
    async def clear_history(self):
        owner = await self._owner_id()
        if owner is None:
            return
        await services().threads.clear(owner)
        await services().cache.invalidate(owner)
        self.threads, self.thread_id = [], ""
        await self._show_history([])
        return rx.redirect("/chat", replace=True)


class HistoryState(ChatState):
    """The open thread's messages as loaded; they change only when another thread is opened."""

    messages: list[MessageRow] = []

"""The chat page's state: the sidebar, the open thread and the turns added in this tab.

The answer being written never passes through state: the page reads it from the live route
(`chatapp/live.py`), and state only learns when it is stored. The thread's earlier messages
live in their own substate, so a new turn neither re-sends nor re-renders them.
"""

from __future__ import annotations

import uuid
from typing import TypedDict

import reflex as rx

from chatapp.models import ArticleLink, Message, Thread
from chatapp.runtime import services
from chatapp.services.chat import SendRejected, ThreadNotFound
from chatapp.services.knowledge import cited_articles
from chatapp.state.session import SessionState


class MessageRow(TypedDict):
    id: str
    role: str
    content: str
    status: str
    sources: list[ArticleLink]  # cited articles, looked up when the row is made: no re-retrieval


def _row(message: Message) -> MessageRow:
    cited = cited_articles(services().knowledge(), message.sources) if message.sources else []
    return {"id": message.id, "role": message.role, "content": message.content,
            "status": message.status, "sources": [{"slug": s, "title": t} for s, t in cited]}


def _thread_row(thread: Thread) -> dict[str, str]:
    return {"id": thread.id, "title": thread.title}


# After the thread renders, show its end; from then on CSS scroll anchoring follows new text.
SCROLL_TO_END = ("requestAnimationFrame(() => document.getElementById('scroll-anchor')"
                 "?.scrollIntoView({block: 'end'}))")


def _live_src(chat_id: str, question_id: str) -> str:
    return f"{services().settings.api_url}/api/chats/{chat_id}/live?q={question_id}"


class ChatState(rx.State):
    threads: list[dict[str, str]] = []
    thread_id: str = ""
    not_found: bool = False
    recent: list[MessageRow] = []  # turns added since the thread was opened
    generating: bool = False
    live_src: str = ""
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
        history.messages = [_row(m) for m in messages]
        self.recent = []

    def _follow(self, chat_id: str, question_id: str):
        self.generating, self.live_src = True, _live_src(chat_id, question_id)
        return ChatState.follow(chat_id)

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
        await self._show_history(history)
        events = [rx.call_script(SCROLL_TO_END)]
        if chat.running(owner, chat_id) is not None:
            events.append(self._follow(chat_id, history[-1].id if history else ""))
        elif history and history[-1].role == "user":
            self.can_retry = True
            self.notice = "This question has no answer yet."
        return events

    @rx.event
    async def send(self, form_data: dict):
        """Store the question, start the answer, and show both before anything else is read."""
        owner = await self._owner_id()
        if owner is None:
            yield rx.redirect("/login", replace=True)
            return
        if self.generating:
            self.notice = "Please wait for the current answer, or press Stop."
            return
        text = str(form_data.get("message", ""))
        client_id = str(form_data.get("client_id") or uuid.uuid4().hex)
        chat = services().chat
        try:
            thread, message, _ = await chat.ask(owner, self.thread_id or None, text, client_id)
        except SendRejected as rejected:
            self.notice, self.can_retry = str(rejected), False
            return
        except ThreadNotFound:
            self.not_found = True
            return
        chat.start(message)
        self.notice, self.can_retry = "", False
        events = [rx.call_script(SCROLL_TO_END), self._follow(thread.id, message.id)]
        if thread.id != self.thread_id:
            self.thread_id = thread.id
            events.append(rx.call_script(f"window.history.replaceState(null, '', '/chat/{thread.id}')"))
        self.recent.append(_row(message))
        yield events  # the page opens the live answer now, while the sidebar is read
        if not self.threads or self.threads[0]["id"] != thread.id:
            await self._refresh_threads(owner)

    @rx.event
    async def retry(self):
        owner = await self._owner_id()
        if owner is None or not self.thread_id or self.generating:
            return
        chat = services().chat
        history = await chat.cache.history(owner, self.thread_id)
        if not history or history[-1].role != "user":
            return
        chat.start(history[-1])
        self.notice, self.can_retry = "", False
        return self._follow(self.thread_id, history[-1].id)

    @rx.event(background=True)
    async def follow(self, chat_id: str):
        """Wait, off the state lock, for the server to store the answer; then show it."""
        async with self:
            owner = self._owner
        chat = services().chat
        answer = chat.running(owner, chat_id)
        if answer is not None:
            await answer.saved.wait()
        history = None if answer is not None else await chat.cache.history(owner, chat_id)
        async with self:
            if self.thread_id != chat_id:
                return
            self.generating, self.live_src = False, ""
            if history is not None:  # finished before we could follow it: show what was stored
                await self._show_history(history)
                return
            if answer.message:
                self.recent.append(_row(answer.message))
            if answer.error:
                self.notice = answer.error
                self.can_retry = answer.message is None

    @rx.event
    async def stop(self):
        owner = await self._owner_id()
        if owner and self.thread_id:
            services().chat.stop(owner, self.thread_id)

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
        services().cache.invalidate(owner, chat_id)
        await self._refresh_threads(owner)
        if chat_id == self.thread_id:
            return rx.redirect("/chat", replace=True)

    @rx.event
    async def clear_history(self):
        owner = await self._owner_id()
        if owner is None:
            return
        await services().threads.clear(owner)
        services().cache.invalidate(owner)
        self.threads, self.thread_id = [], ""
        await self._show_history([])
        return rx.redirect("/chat", replace=True)


class HistoryState(ChatState):
    """The open thread's messages as loaded; they change only when another thread is opened."""

    messages: list[MessageRow] = []

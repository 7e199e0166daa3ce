"""The chat page's state: the sidebar, the open thread, and the answer being written.

Finished messages change only when a message is added, so streaming re-sends just `answer`,
a small var flushed at most every 50 ms (the first piece at once).
"""

from __future__ import annotations

import time
import uuid
from typing import TypedDict

import reflex as rx

from chatapp.models import ArticleLink, Message, Thread
from chatapp.runtime import services
from chatapp.services.chat import SendRejected, ThreadNotFound
from chatapp.services.knowledge import cited_articles
from chatapp.state.session import SessionState

FLUSH_SECONDS = 0.05


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


class ChatState(rx.State):
    threads: list[dict[str, str]] = []
    messages: list[MessageRow] = []
    thread_id: str = ""
    not_found: bool = False
    answer: str = ""
    generating: bool = False
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

    @rx.event
    async def load(self):
        """Open the thread named by the URL (or a new chat), and the user's thread list."""
        owner = await self._owner_id()
        if owner is None:
            return rx.redirect("/login", replace=True)
        chat = services().chat
        chat_id = self._path_chat_id()
        self.thread_id, self.not_found, self.notice, self.can_retry = chat_id, False, "", False
        self.messages, self.answer, self.generating = [], "", False
        await self._refresh_threads(owner)
        if not chat_id:
            return
        try:
            _, history = await chat.thread(owner, chat_id)
        except ThreadNotFound:
            self.thread_id, self.not_found = "", True
            return
        self.messages = [_row(m) for m in history]
        running = chat.running(owner, chat_id)
        if running is not None:
            self.generating, self.answer = True, running.text
        elif history and history[-1].role == "user":
            self.can_retry = True
            self.notice = "This question has no answer yet."

    @rx.event
    async def send(self, form_data: dict):
        owner = await self._owner_id()
        if owner is None:
            return rx.redirect("/login", replace=True)
        if self.generating:
            self.notice = "Please wait for the current answer, or press Stop."
            return
        text = str(form_data.get("message", ""))
        client_id = str(form_data.get("client_id") or uuid.uuid4().hex)
        try:
            thread, message, _ = await services().chat.ask(
                owner, self.thread_id or None, text, client_id)
        except SendRejected as rejected:
            self.notice = str(rejected)
            self.can_retry = False
            return
        except ThreadNotFound:
            self.not_found = True
            return
        self.notice, self.can_retry = "", False
        events = []
        if thread.id != self.thread_id:
            self.thread_id = thread.id
            events.append(rx.call_script(f"window.history.replaceState(null, '', '/chat/{thread.id}')"))
        self.messages.append(_row(message))
        await self._refresh_threads(owner)
        self.generating, self.answer = True, ""
        events.append(ChatState.stream_answer(thread.id, message.id))
        return events

    @rx.event
    async def retry(self):
        owner = await self._owner_id()
        if owner is None or not self.thread_id or self.generating:
            return
        questions = [m for m in self.messages if m["role"] == "user"]
        if not questions or self.messages[-1]["role"] != "user":
            return
        self.notice, self.can_retry, self.generating, self.answer = "", False, True, ""
        return ChatState.stream_answer(self.thread_id, questions[-1]["id"])

    @rx.event(background=True)
    async def stream_answer(self, chat_id: str, message_id: str):
        """Generate outside the state lock; push the growing answer at most every 50 ms."""
        async with self:
            owner = self._owner
        chat = services().chat
        history = await chat.cache.history(owner, chat_id)
        question = next((m for m in history if m.id == message_id), None)
        if question is None:
            async with self:
                self.generating = False
            return
        last = None
        flushed_at = 0.0
        async for answer in chat.answer(question):
            last = answer
            if answer.message or answer.error:
                continue
            now = time.monotonic()
            if now - flushed_at >= FLUSH_SECONDS:
                flushed_at = now
                async with self:
                    if self.thread_id == chat_id:
                        self.answer = answer.text
        async with self:
            if self.thread_id != chat_id:
                return
            self.generating, self.answer = False, ""
            if last and last.message:
                self.messages.append(_row(last.message))
            if last and last.error:
                self.notice = last.error
                self.can_retry = last.message is None

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
        self.threads, self.messages, self.thread_id = [], [], ""
        return rx.redirect("/chat", replace=True)

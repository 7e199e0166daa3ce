"""What pages are told about conversations, in one shape: the rows of messages, conversations
and queue entries, written to the event log (services/events.py) as things happen, and read
back whole by the stream route when a page starts watching.

Services call `Feed` after they changed the record (MongoDB), never before, so an event never
announces something a reader could not also find by reading the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chatapp.models import Message, Thread
from chatapp.services.events import TEAM, EventLog
from chatapp.services.knowledge import KnowledgeBase, citations

Row = dict[str, Any]


def _ms(when: datetime | None) -> int | None:
    return int(when.timestamp() * 1000) if when else None


def message_row(message: Message, kb: KnowledgeBase | None,
                unlisted: Mapping[str, tuple[str, str]] | None = None) -> Row:
    """`sources`: each cited article, linked by its current slug and title; one deleted or
    unpublished since is `removed` (shown as text, not a link to a missing page)."""
    cited = citations(kb, message.sources, unlisted) if kb and message.sources else []
    row = {"id": message.id, "role": message.role, "content": message.content,
           "status": message.status, "author": message.author, "client_id": message.client_id,
           "declined": message.declined, "error": message.error, "at": _ms(message.created_at),
           "sources": [{"slug": c.slug, "title": c.title, "removed": c.removed}
                       for c in cited if c.title or not c.removed]}
    if message.action is not None:  # an action's card (chatapp/actions/calls.py)
        row["action"] = dict(message.action)
    if message.feedback:  # the customer's rating of the answer, shown to them and to the team
        row["feedback"] = {"rating": message.feedback, "reasons": list(message.feedback_reasons)}
    return row


def conversation_row(thread: Thread) -> Row:
    """The conversation's state as the customer's and the agent's pages show it."""
    return {"id": thread.id, "status": thread.status, "title": thread.title,
            "assignee_name": thread.assignee_name, "notice": thread.notice, "csat": thread.csat}


def queue_row(thread: Thread) -> Row:
    """A conversation as one line of the team's queue."""
    return {"id": thread.id, "status": thread.status, "title": thread.title,
            "customer": thread.customer_name, "email": thread.customer_email, "guest": thread.guest,
            "preview": thread.preview, "updated": _ms(thread.updated_at),
            "waiting_since": _ms(thread.waiting_since), "assignee": thread.assignee,
            "assignee_name": thread.assignee_name, "unread": thread.team_unread}


class Feed:
    def __init__(self, log: EventLog, knowledge: Callable[[], KnowledgeBase],
                 unlisted: Callable[[], Mapping[str, tuple[str, str]]] = dict) -> None:
        self.log = log
        self.knowledge = knowledge
        self.unlisted = unlisted  # deleted or draft articles, to name their old citations

    def rows(self, messages: list[Message]) -> list[Row]:
        kb = self.knowledge() if any(m.sources for m in messages) else None
        unlisted = self.unlisted() if kb else None
        return [message_row(message, kb, unlisted) for message in messages]

    async def message(self, message: Message) -> str:
        return await self.log.append(message.chat_id, {"type": "message", "message": self.rows([message])[0]})

    async def delta(self, chat_id: str, message_id: str, at: int, text: str, *, end: bool = False) -> None:
        """Text appended to the answer being written at offset `at`; `end`: the provider finished,
        so pages show the whole text at once (before the answer's final row, which waits for
        the database)."""
        event = {"type": "delta", "id": message_id, "at": at, "text": text}
        if end:
            event["end"] = True
        await self.log.append(chat_id, event)

    async def conversation(self, thread: Thread, *, team: bool = True) -> None:
        await self.log.append(thread.id, {"type": "conversation",
                                          "conversation": conversation_row(thread)})
        if team:
            await self.queue(thread)

    async def queue(self, thread: Thread) -> None:
        await self.log.append(TEAM, {"type": "queue", "row": queue_row(thread)})

    async def summary(self, chat_id: str, text: str) -> None:
        """The hand-off summary as it is written (the stream route shows it to the team only)."""
        await self.log.append(chat_id, {"type": "summary", "text": text})

    async def removed(self, chat_id: str) -> None:
        await self.log.append(chat_id, {"type": "removed"})
        await self.log.append(TEAM, {"type": "removed", "id": chat_id})

"""Plain records shared by services and states (no Reflex, no database types)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

CUSTOMER, AGENT, ADMIN, GUEST = "customer", "agent", "admin", "guest"
TEAM_ROLES = (AGENT, ADMIN)

# A conversation's life: the assistant answers -> waiting for a person -> with an agent -> closed.
BOT, WAITING, ASSIGNED, CLOSED = "bot", "waiting", "assigned", "closed"
OPEN_STATES = (BOT, WAITING, ASSIGNED)

# Who wrote a message: the customer ("user"), the assistant, a person of the team ("agent"), or
# the conversation itself ("activity": "Alex joined", "Alex closed the conversation"), or an
# assistant action's card ("action": "Order status", what was looked up and what came back).
USER, ASSISTANT, AGENT_MESSAGE, ACTIVITY, ACTION = "user", "assistant", "agent", "activity", "action"

# An action card's status: waiting for the customer (Confirm / Cancel, or a field to fill in),
# running, and how it ended.
PROPOSED, RUNNING, DONE, FAILED, CANCELLED = "proposed", "running", "done", "failed", "cancelled"


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    token_version: int
    created_at: datetime
    role: str = CUSTOMER
    active: bool = True
    display_name: str = ""  # how the team member signs messages ("Alex"); customers: their username

    @property
    def on_team(self) -> bool:
        return self.role in TEAM_ROLES and self.active

    @property
    def is_guest(self) -> bool:
        return self.role == GUEST

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN and self.active

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class Thread:
    """A conversation: its owner (the customer), its title and where it is in its life."""

    id: str
    owner: str
    title: str
    created_at: datetime
    updated_at: datetime
    status: str = BOT
    assignee: str = ""  # the agent's user id while assigned (and kept when closed)
    assignee_name: str = ""
    waiting_since: datetime | None = None
    handoff_at: datetime | None = None
    first_human_reply_at: datetime | None = None
    closed_at: datetime | None = None
    summary: str = ""
    customer_name: str = ""
    customer_email: str = ""
    guest: bool = False  # the customer has no account (the website widget)
    preview: str = ""  # the last message, shortened, for the team's queue
    team_unread: bool = False  # the customer wrote since an agent last opened it
    notice: str = ""  # what the customer is told of the conversation's state ("You're in the queue…")
    csat: int | None = None  # the customer's 1-5 rating of the closed conversation


@dataclass(frozen=True)
class Message:
    id: str
    owner: str
    chat_id: str
    role: str  # USER, ASSISTANT, AGENT_MESSAGE, ACTIVITY or ACTION
    content: str
    status: str  # "complete", "stopped", "failed" or "writing" (assistant); PROPOSED, RUNNING,
    # DONE, FAILED or CANCELLED (action); "sent" (others)
    model: str
    client_id: str
    created_at: datetime
    sources: tuple[str, ...] = ()  # cited knowledge-base passage ids
    author: str = ""  # the agent's display name (agent messages and activity)
    declined: bool = False  # the assistant could not answer from the articles
    error: str = ""  # why an answer failed, in a sentence for the customer
    stream_from: str = ""  # while "writing": the event id from which its growth can be replayed
    # ACTION only: the card (chatapp/actions/calls.py, `card_fields`): name, title, arguments,
    # result, summary, duration_ms, fields to fill in, confirm, answer_id, offset
    action: Mapping[str, Any] | None = field(default=None, hash=False)
    feedback: str = ""  # ASSISTANT only: the customer's "up" or "down" (services/feedback.py)
    feedback_reasons: tuple[str, ...] = ()


class ArticleLink(TypedDict):
    """A help-centre article as pages link to it (`/help/<slug>`)."""

    slug: str
    title: str

"""Plain records shared by services and states (no Reflex, no database types)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    token_version: int
    created_at: datetime


@dataclass(frozen=True)
class Thread:
    id: str
    owner: str
    title: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Message:
    id: str
    owner: str
    chat_id: str
    role: str  # "user" or "assistant"
    content: str
    status: str  # "complete", "stopped" or "failed" (assistant); "sent" (user)
    model: str
    client_id: str
    created_at: datetime
    sources: tuple[str, ...] = ()  # cited knowledge-base passage ids


class ArticleLink(TypedDict):
    """A help-centre article as pages link to it (`/help/<slug>`)."""

    slug: str
    title: str

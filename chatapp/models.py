"""Plain records shared by services and states (no Reflex, no database types)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    token_version: int
    created_at: datetime

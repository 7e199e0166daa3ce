"""What event handlers accept from the page: anything a client sends over the socket is
checked for type and size here, before any service (or the database) sees it."""

from __future__ import annotations

import re
from typing import Any

_CHAT_ID = re.compile(r"^[0-9a-f]{16}$")
_CLIENT_ID = re.compile(r"^[0-9A-Za-z_-]{8,64}$")
_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")  # a MongoDB id, in hex
_ARTICLE_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_TEXT = 100_000  # far over any message limit: longer input is not a message, it is refused


def chat_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _CHAT_ID.fullmatch(value) else None


def client_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _CLIENT_ID.fullmatch(value) else None


def object_id(value: Any) -> str | None:
    """A user's or a message's id."""
    return value if isinstance(value, str) and _OBJECT_ID.fullmatch(value) else None


def article_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _ARTICLE_ID.fullmatch(value) else None


def number(value: Any, low: int = 0, high: int = 1_000_000) -> int | None:
    """A whole number in [low, high] (a page sends version numbers as numbers or digits)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 7:
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else None


def text(value: Any, limit: int = MAX_TEXT) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit else None


def picked(value: Any, *names: str) -> dict[str, Any] | None:
    """`names` from a form's dict that has each of them (a control with an id is sent twice,
    by name and by id, so a few other keys are allowed and dropped), else None."""
    if not isinstance(value, dict) or len(value) > 2 * len(names) or not set(names) <= set(value):
        return None
    return {name: value[name] for name in names}


def fields(value: Any, *names: str) -> dict[str, Any] | None:
    """A form's dict with exactly `names` (and no other keys), else None."""
    if not isinstance(value, dict) or set(value) - set(names) or len(value) > len(names):
        return None
    return value

"""Notices for the page, shown as toasts (components/notices.jsx): `return notify("...")` from
any handler, background ones included. Reflex's rx.toast cannot run under the app's CSP."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventSpec

from chatapp.state import args

MAX_NOTICE = 300
LEVELS = ("error", "success")


class NoticeState(rx.State):
    notice: dict[str, Any] = {}  # {id, text, level}: a new id is a new toast

    @rx.event
    def show(self, text: Any, level: Any = "error"):
        message = args.text(text, MAX_NOTICE)
        if message and level in LEVELS:
            self.notice = {"id": int(self.notice.get("id", 0)) + 1, "text": message, "level": level}


def notify(text: str, level: str = "error") -> EventSpec:
    return NoticeState.show(text[:MAX_NOTICE], level)

"""The header of the team's pages: where you are, the team's sections, and who you are."""

from __future__ import annotations

import reflex as rx

from chatapp.components.session import log_out
from chatapp.state.session import SessionState

# (name, address, admins only)
SECTIONS = (("Inbox", "/inbox", False), ("Knowledge", "/inbox/knowledge", False),
            ("Insights", "/inbox/insights", False), ("Team", "/inbox/team", True))


def _section(name: str, href: str, admins_only: bool, current: str) -> rx.Component:
    link = rx.link(name, href=href, size="2", weight="bold" if name == current else "regular",
                   aria_current="page" if name == current else None)
    return rx.cond(SessionState.role == "admin", link) if admins_only else link


def team_header(current: str) -> rx.Component:
    return rx.hstack(
        rx.heading("Helpdesk", size="5", class_name="team-brand"),
        rx.el.nav(
            *[_section(name, href, admins_only, current) for name, href, admins_only in SECTIONS],
            rx.link("Help centre", href="/help", size="2", class_name="header-help"),
            class_name="team-nav",
        ),
        rx.spacer(),
        rx.text(SessionState.username, color_scheme="gray", aria_label="Signed in as", size="2",
                class_name="signed-in-as"),
        rx.color_mode.button(aria_label="Toggle dark mode"),
        log_out(),
        align="center", width="100%", padding="0.5rem 0.75rem", border_bottom="1px solid var(--gray-a5)",
        class_name="app-header",
    )

"""Log out: a plain form posted to the auth route (which clears the HttpOnly cookie and sends
the browser to /login), so it needs no script. With messages still in this browser's outbox, it
first says that they are kept and will be sent when this user logs in again."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.el.element import Element

from chatapp.config import get_settings
from chatapp.state.session import SessionState


class NativeForm(Element):
    """A plain HTML form the browser submits itself (Reflex's form always keeps it on the page)."""

    tag = "form"
    action: rx.Var[str]
    method: rx.Var[str]


def _form(label: str, **button) -> rx.Component:
    return NativeForm.create(
        rx.button(label, type="submit", **button),
        action=f"{get_settings().api_url}/api/auth/logout", method="post",
        class_name="logout-form",  # never shrunk in a narrow header (assets/chat.css)
    )


def log_out() -> rx.Component:
    plain = _form("Log out", variant="soft", color_scheme="gray")
    warned = rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button("Log out", variant="soft", color_scheme="gray")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Some messages are not sent yet"),
            rx.alert_dialog.description(
                rx.cond(SessionState.unsent == 1, "1 message is",
                        SessionState.unsent.to_string() + " messages are"),
                " still waiting to be sent. They stay on this device and are sent when you log in "
                "again; they are never shown to anyone else who logs in here."),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Stay logged in", variant="soft", color_scheme="gray")),
                _form("Log out anyway", color_scheme="red"),
                justify="end", spacing="3", margin_top="1rem",
            ),
            max_width="440px",
        ),
    )
    return rx.cond(SessionState.unsent > 0, warned, plain)

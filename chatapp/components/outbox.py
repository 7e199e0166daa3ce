"""The outbox and the connection banner: nothing typed is lost while the connection is down.

The outbox itself is the React component in `outbox.jsx` beside this file; the hidden forms
below are how it hands messages to Reflex (`ChatState.send`) and asks for a refresh.
"""

from __future__ import annotations

import reflex as rx
from reflex.components.core.banner import has_connection_errors

from chatapp.state.chat import ChatState


class Outbox(rx.Component):
    library = rx.asset("outbox.jsx", shared=True).importable_path
    tag = "Outbox"

    chat_id: rx.Var[str]
    ready: rx.Var[bool]
    busy: rx.Var[bool]


def outbox() -> rx.Component:
    return rx.fragment(
        Outbox.create(chat_id=ChatState.thread_id, ready=rx.State.is_hydrated & ~has_connection_errors,
                      busy=ChatState.generating),
        rx.form(
            rx.el.input(type="hidden", name="message"),
            rx.el.input(type="hidden", name="client_id"),
            id="outbox-form", on_submit=ChatState.send, display="none",
        ),
        rx.form(id="resync-form", on_submit=ChatState.resync, display="none"),
    )


def reconnecting_banner() -> rx.Component:
    """Replaces Reflex's connection toast: say what happens to messages sent meanwhile."""
    return rx.cond(
        has_connection_errors,
        rx.box(
            rx.text("Reconnecting… Messages you send now are kept and sent when the connection "
                    "is back.", size="2"),
            role="status", class_name="reconnecting-banner", position="fixed", top="0", left="0",
            right="0", z_index="1000", text_align="center", padding="6px",
            background="var(--amber-4)", color="var(--amber-12)",
        ),
    )

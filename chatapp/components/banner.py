"""The connection banner: it replaces Reflex's toast, and says what happens to messages sent
while the connection is down (the outbox keeps them)."""

from __future__ import annotations

import reflex as rx
from reflex.components.core.banner import has_connection_errors


def reconnecting_banner() -> rx.Component:
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

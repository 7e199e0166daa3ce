"""/chat: the logged-in customer's support chat."""

import json

import reflex as rx

from chatapp.config import get_settings
from chatapp.state.session import SessionState


def log_out_button() -> rx.Component:
    url = json.dumps(f"{get_settings().api_url}/api/auth/logout")
    return rx.button(
        "Log out",
        variant="soft",
        color_scheme="gray",
        on_click=rx.call_script(f"window.helpdesk.logOut({url})"),
    )


def chat_page() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Helpdesk", size="5"),
            rx.spacer(),
            rx.text(SessionState.username, color_scheme="gray", aria_label="Signed in as"),
            log_out_button(),
            align="center",
            width="100%",
            padding="3",
            border_bottom="1px solid var(--gray-a5)",
        ),
        rx.center(
            rx.text("Ask the support assistant anything about your account.", color_scheme="gray"),
            flex="1",
            width="100%",
        ),
        height="100vh",
        spacing="0",
    )


PAGE = dict(
    component=chat_page,
    route="/chat",
    title="Support chat · Helpdesk",
    on_load=SessionState.require_login,
)

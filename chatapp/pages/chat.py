"""/chat and /chat/<chat_id>: the logged-in customer's support chat."""

import reflex as rx

from chatapp.components.conversation import conversation, not_found
from chatapp.components.session import log_out
from chatapp.components.sidebar import sidebar, thread_menu
from chatapp.config import get_settings
from chatapp.state.chat import ChatState
from chatapp.state.session import SessionState


def download_conversation() -> rx.Component:
    """The open conversation as Markdown, sources as links (a document request to the API)."""
    href = f"{get_settings().api_url}/api/conversations/" + ChatState.thread_id + "/transcript.md"
    return rx.cond(
        ChatState.stored,
        rx.link(rx.icon("download", size=18), href=href, download="", reload_document=True,
                aria_label="Download conversation", title="Download conversation",
                class_name="header-icon-link"),
    )


def chat_page() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            thread_menu(),
            rx.heading("Helpdesk", size="5"),
            rx.spacer(),
            rx.link("Help centre", href="/help", size="2", class_name="header-help"),
            download_conversation(),
            rx.text(SessionState.username, color_scheme="gray", aria_label="Signed in as",
                    class_name="signed-in-as"),
            rx.color_mode.button(aria_label="Toggle dark mode"),
            log_out(),
            align="center",
            width="100%",
            padding="0.5rem 0.75rem",
            class_name="app-header",
            border_bottom="1px solid var(--gray-a5)",
        ),
        rx.hstack(
            sidebar(),
            rx.cond(ChatState.not_found, not_found(), conversation()),
            flex="1", width="100%", spacing="0", overflow="hidden",
        ),
        height="100dvh",
        spacing="0",
    )


# ChatState.load is also the page guard: it checks the session and sends visitors to /login.
# One route for /chat and /chat/<chat_id>: when a new thread gets its address the page stays
# mounted (the answer being written keeps streaming into the same component).
PAGE = dict(component=chat_page, route="/chat/[[...splat]]", title="Support chat · Helpdesk",
            on_load=ChatState.load)

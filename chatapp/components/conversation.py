"""Message bubbles, the answer being written, notices and the composer.

Chat text is rendered as Markdown with raw HTML off (`use_raw=False`): a `<script>` in a
message or an answer shows as text and never runs.
"""

from __future__ import annotations

import reflex as rx

from chatapp.components.sources import sources
from chatapp.state.chat import ChatState


def markdown(text: rx.Var) -> rx.Component:
    return rx.markdown(text, use_raw=False, class_name="message-text")


def bubble(message: rx.Var) -> rx.Component:
    is_user = message["role"] == "user"
    return rx.box(
        markdown(message["content"]),
        sources(message["sources"]),
        rx.cond(message["status"] == "stopped",
                rx.text("Stopped", size="1", color_scheme="gray", class_name="message-status")),
        rx.cond(message["status"] == "failed",
                rx.text("Interrupted", size="1", color_scheme="red", class_name="message-status")),
        class_name=rx.cond(is_user, "message message-user", "message message-assistant"),
        data_role=message["role"],
        align_self=rx.cond(is_user, "flex-end", "flex-start"),
        background=rx.cond(is_user, "var(--accent-3)", "var(--gray-a2)"),
        padding_x="4", padding_y="2", border_radius="12px", max_width="80%",
    )


def live_answer() -> rx.Component:
    return rx.cond(
        ChatState.generating,
        rx.box(
            rx.cond(ChatState.answer != "", markdown(ChatState.answer),
                    rx.text("Thinking…", color_scheme="gray")),
            class_name="message message-assistant message-live", data_role="assistant",
            aria_live="polite", align_self="flex-start", background="var(--gray-a2)",
            padding_x="4", padding_y="2", border_radius="12px", max_width="80%",
        ),
    )


def notice() -> rx.Component:
    return rx.cond(
        ChatState.notice != "",
        rx.callout.root(
            rx.callout.text(ChatState.notice),
            rx.cond(ChatState.can_retry,
                    rx.button("Retry", size="1", on_click=ChatState.retry, margin_left="3")),
            color_scheme="amber", role="status", width="100%",
        ),
    )


def composer() -> rx.Component:
    """Uncontrolled input: typing never round-trips to the server or re-renders the page."""
    return rx.form(
        rx.hstack(
            rx.text_area(id="composer", name="message", aria_label="Message", rows="2",
                         placeholder="Ask a question… (Enter to send, Shift+Enter for a new line)",
                         flex="1", resize="vertical"),
            rx.cond(
                ChatState.generating,
                rx.button("Stop", type="button", color_scheme="red", variant="soft",
                          on_click=ChatState.stop),
                rx.button("Send", type="submit"),
            ),
            align="end", width="100%",
        ),
        on_submit=ChatState.send,
        reset_on_submit=True,
        width="100%",
    )


def conversation() -> rx.Component:
    return rx.vstack(
        rx.vstack(
            rx.cond(
                (ChatState.messages.length() == 0) & ~ChatState.generating,
                rx.center(rx.text("Ask the support assistant anything about your account.",
                                  color_scheme="gray"), flex="1", width="100%"),
            ),
            rx.foreach(ChatState.messages, bubble),
            live_answer(),
            notice(),
            id="messages", width="100%", max_width="820px", margin_x="auto", spacing="3",
            padding="4", flex="1",
        ),
        rx.box(composer(), width="100%", max_width="820px", margin_x="auto", padding="4"),
        flex="1", height="100%", overflow_y="auto", spacing="0",
    )


def not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.heading("Conversation not found", size="6", as_="h1"),
            rx.text("It may have been deleted, or the link is wrong."),
            rx.link(rx.button("Start a new chat"), href="/chat"),
            align="center", spacing="3",
        ),
        flex="1",
    )

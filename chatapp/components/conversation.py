"""Message bubbles, the answer being written, notices and the composer.

Chat text is Markdown with raw HTML shown as text (a `<script>` in a message never runs).
The scroll follows new text only while the reader is at the bottom, by CSS scroll anchoring
on the last element (`#scroll-anchor`, see assets/chat.css): no script measures the page.
"""

from __future__ import annotations

import reflex as rx

from chatapp.components.markdown import live_answer, markdown, turns
from chatapp.components.outbox import outbox
from chatapp.components.sources import sources
from chatapp.state.chat import ChatState, HistoryState


def bubble(message: rx.Var) -> rx.Component:
    is_user = message["role"] == "user"
    return rx.box(
        markdown(text=message["content"], class_name="message-text"),
        sources(message["sources"]),
        rx.cond(message["status"] == "stopped",
                rx.text("Stopped", size="1", color_scheme="gray", class_name="message-status")),
        rx.cond(message["status"] == "failed",
                rx.text("Interrupted", size="1", color_scheme="red", class_name="message-status")),
        class_name=rx.cond(is_user, "message message-user", "message message-assistant"),
        data_role=message["role"],
        align_self=rx.cond(is_user, "flex-end", "flex-start"),
        background=rx.cond(is_user, "var(--accent-3)", "var(--gray-a2)"),
        padding="0.5rem 1rem", border_radius="12px", max_width="80%",
    )


def answer_being_written() -> rx.Component:
    return rx.cond(
        ChatState.generating,
        rx.box(
            live_answer(src=ChatState.live_src, waiting="Thinking…", class_name="message-text"),
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
        rx.el.input(type="hidden", name="client_id"),  # set by the outbox (outbox.jsx)
        id="composer-form",
        on_submit=ChatState.send,
        reset_on_submit=True,
        width="100%",
    )


def conversation() -> rx.Component:
    return rx.vstack(
        rx.box(
            rx.vstack(
                rx.cond(
                    (HistoryState.messages.length() == 0) & ~ChatState.has_turns,
                    rx.center(rx.text("Ask the support assistant anything about your account.",
                                      color_scheme="gray"), flex="1", width="100%"),
                ),
                rx.foreach(HistoryState.messages, bubble),
                turns(view=ChatState.view),
                answer_being_written(),
                outbox(),
                notice(),
                id="messages", width="100%", max_width="820px", margin_x="auto", spacing="3",
                padding="4",
            ),
            rx.box(id="scroll-anchor"),
            id="scroller", flex="1", width="100%", overflow_y="auto",
        ),
        rx.box(composer(), width="100%", max_width="820px", margin_x="auto", padding="4"),
        flex="1", height="100%", spacing="0", overflow="hidden",
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

"""The customer's conversation area: the message list read from the conversation's stream, and
the composer below it.

Chat text is Markdown with raw HTML shown as text (a `<script>` in a message never runs). The
scroll follows new text only while the reader is at the bottom, by CSS scroll anchoring on the
last element (`#scroll-anchor`, see assets/chat.css): no script measures the page.
"""

from __future__ import annotations

import reflex as rx

from chatapp.components.client import CONNECTED, composer, conversation_view
from chatapp.state.actions import ActionState
from chatapp.state.chat import ChatState
from chatapp.state.feedback import FeedbackState
from chatapp.state.session import SessionState


def key_hint() -> rx.Component:
    """The composer's keys, under it (kept out of the placeholder, which would wrap); hidden on
    touch screens, whose keyboards have no Shift+Enter."""
    return rx.el.p("Enter to send · Shift+Enter for a new line", class_name="composer-hint")


def customer_messages() -> rx.Component:
    """The customer's conversation (on /chat and in the widget): its messages and their buttons."""
    return conversation_view(
        src=ChatState.stream_src, chat_id=ChatState.thread_id, draft=ChatState.draft,
        path=ChatState.path, viewer="customer", owner=SessionState.outbox,
        ready=CONNECTED, on_retry=ChatState.retry, on_talk=ChatState.talk_to_person,
        on_rate=FeedbackState.rate_answer, on_rate_conversation=FeedbackState.rate_conversation,
        on_solved=FeedbackState.solved, on_action=ActionState.act,
    )


def customer_composer(placeholder: str) -> rx.Component:
    return composer(
        chat_id=ChatState.thread_id, draft=ChatState.draft, owner=SessionState.outbox,
        ready=CONNECTED, refused=ChatState.refused, label="Message", send_label="Send",
        placeholder=placeholder, viewer="customer", on_send=ChatState.send, on_stop=ChatState.stop,
        on_talk=ChatState.talk_to_person, on_unsent=SessionState.set_unsent,
    )


def conversation() -> rx.Component:
    return rx.vstack(
        rx.box(
            rx.vstack(
                customer_messages(),
                id="messages", class_name="messages", width="100%", max_width="820px",
                margin_x="auto", spacing="3", padding="1rem",
            ),
            rx.box(id="scroll-anchor"),
            id="scroller", flex="1", width="100%", overflow_y="auto",
        ),
        rx.box(
            customer_composer("Ask a question…"),
            key_hint(),
            width="100%", max_width="820px", margin_x="auto", padding="1rem", class_name="composer-box",
        ),
        flex="1", height="100%", spacing="0", overflow="hidden", min_width="0",
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

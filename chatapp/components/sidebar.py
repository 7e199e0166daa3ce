"""The thread list: New chat, each thread with Rename and Delete, and Clear all history."""

from __future__ import annotations

import reflex as rx

from chatapp.state.chat import ChatState


def rename_dialog(thread: rx.Var) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.icon_button(rx.icon("pencil", size=14), size="1", variant="ghost",
                                         aria_label="Rename", title="Rename")),
        rx.dialog.content(
            rx.dialog.title("Rename conversation"),
            rx.form(
                rx.vstack(
                    rx.el.input(type="hidden", name="chat_id", value=thread["id"]),
                    rx.input(name="title", default_value=thread["title"], aria_label="Title",
                             max_length=120, width="100%", required=True),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                  type="button")),
                        rx.dialog.close(rx.button("Save", type="submit")),
                        justify="end", width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=ChatState.rename,
            ),
            max_width="420px",
        ),
    )


def thread_item(thread: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.link(thread["title"], href="/chat/" + thread["id"], flex="1", truncate=True,
                weight=rx.cond(thread["id"] == ChatState.thread_id, "bold", "regular"),
                color_scheme="gray", high_contrast=True, size="2"),
        rename_dialog(thread),
        rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="ghost", color_scheme="red",
                       aria_label="Delete", title="Delete",
                       on_click=ChatState.delete_thread(thread["id"])),
        align="center", width="100%", spacing="2", padding_x="2", padding_y="1",
        role="listitem",
    )


def clear_all() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button("Clear all history", variant="ghost",
                                          color_scheme="red", size="1")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Clear all history?"),
            rx.alert_dialog.description("Every conversation will be deleted. This cannot be undone."),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete everything", color_scheme="red",
                                                 on_click=ChatState.clear_history)),
                justify="end", spacing="3", margin_top="4",
            ),
            max_width="420px",
        ),
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.link(rx.button(rx.icon("plus", size=16), "New chat", width="100%"), href="/chat",
                width="100%"),
        rx.vstack(rx.foreach(ChatState.threads, thread_item), width="100%", spacing="0",
                  role="list", aria_label="Conversations", overflow_y="auto", flex="1"),
        clear_all(),
        width="260px", min_width="260px", height="100%", padding="3", spacing="3",
        border_right="1px solid var(--gray-a5)", as_="nav",
    )

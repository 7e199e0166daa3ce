"""The thread list: New chat, each thread with Rename and Delete, and Clear all history."""

from __future__ import annotations

import reflex as rx

from chatapp.state.chat import ChatState


def rename_dialog(thread: rx.Var) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.icon_button(rx.icon("pencil", size=16), variant="ghost",
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


def thread_item(thread: rx.Var, in_drawer: bool = False) -> rx.Component:
    """One line per thread: the title cut with an ellipsis, the open one marked as the page."""
    current = thread["id"] == ChatState.thread_id
    link = rx.link(rx.el.span(thread["title"], class_name="thread-title"), href="/chat/" + thread["id"],
                   title=thread["title"], weight=rx.cond(current, "bold", "regular"),
                   aria_current=rx.cond(current, "page", None), color_scheme="gray", high_contrast=True,
                   underline="none", size="2", class_name="thread-link")
    return rx.hstack(
        rx.drawer.close(link) if in_drawer else link,
        rename_dialog(thread),
        rx.icon_button(rx.icon("trash-2", size=16), variant="ghost", color_scheme="red",
                       aria_label="Delete", title="Delete",
                       on_click=ChatState.delete_thread(thread["id"])),
        align="center", width="100%", spacing="3", padding_x="0.5rem", class_name="thread-item",
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
                justify="end", spacing="3", margin_top="1rem",
            ),
            max_width="420px",
        ),
    )


def threads(in_drawer: bool = False) -> rx.Component:
    new_chat = rx.link(rx.button(rx.icon("plus", size=16), "New chat", width="100%"), href="/chat",
                       width="100%")
    return rx.fragment(
        rx.drawer.close(new_chat) if in_drawer else new_chat,
        rx.vstack(rx.foreach(ChatState.threads, lambda thread: thread_item(thread, in_drawer)),
                  width="100%", spacing="0", role="list", aria_label="Conversations",
                  overflow_y="auto", flex="1"),
        # On a phone the header has no room for the help centre: it is here, in the drawer.
        *([rx.link("Help centre", href="/help", size="2", class_name="drawer-help")] if in_drawer else []),
        clear_all(),
    )


def sidebar() -> rx.Component:
    """The thread list beside the chat; on a phone it is hidden and `thread_menu` opens it."""
    return rx.vstack(
        threads(),
        class_name="chat-sidebar", width="260px", min_width="260px", height="100%",
        padding="0.75rem", spacing="3", border_right="1px solid var(--gray-a5)", as_="nav",
    )


def thread_menu() -> rx.Component:
    """On a phone: the thread list as a drawer from the left, opened from the header."""
    return rx.drawer.root(
        # No `size` on these icon buttons: Reflex would resize the icon with it (36 px at "3").
        rx.drawer.trigger(rx.icon_button(rx.icon("menu", size=20), variant="ghost", color_scheme="gray",
                                         high_contrast=True, aria_label="Conversations",
                                         class_name="chat-menu-button header-icon-button")),
        rx.drawer.overlay(z_index="20"),
        rx.drawer.portal(rx.drawer.content(
            rx.vstack(
                rx.hstack(
                    rx.drawer.title("Conversations", size="4"),
                    rx.spacer(),
                    rx.drawer.close(rx.icon_button(
                        rx.icon("x", size=20), variant="ghost", color_scheme="gray", high_contrast=True,
                        aria_label="Close conversations", class_name="header-icon-button")),
                    width="100%", align="center",
                ),
                threads(in_drawer=True),
                height="100%", width="100%", min_width="0", spacing="3", padding="0.75rem",
            ),
            class_name="chat-drawer", top="0", left="0", height="100dvh", width="min(85vw, 320px)",
            background="var(--color-panel-solid)", z_index="30",
        )),
        direction="left",
    )

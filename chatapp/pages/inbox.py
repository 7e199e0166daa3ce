"""/inbox: the support team's inbox. The queue on the left, the open conversation in the middle
(the same conversation view the customer has, from the agent's side), and the customer with
the actions on the right."""

import reflex as rx

from chatapp.components.client import CONNECTED, composer, conversation_view, queue
from chatapp.components.conversation import key_hint
from chatapp.components.team_header import team_header
from chatapp.state.inbox import InboxState
from chatapp.state.session import SessionState


def search_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(name="q", type="search", aria_label="Search conversations", max_length=200,
                     placeholder="Search name, email or text", default_value=InboxState.query,
                     key=InboxState.query, flex="1"),
            rx.cond(InboxState.query != "",
                    rx.button("Clear", type="button", variant="soft", color_scheme="gray",
                              on_click=InboxState.clear_search)),
            width="100%",
        ),
        on_submit=InboxState.search, role="search", width="100%",
    )


def queue_column() -> rx.Component:
    return rx.vstack(
        search_form(),
        queue(src=InboxState.queue_src, me=InboxState.me, selected=InboxState.selected,
              query=InboxState.query, results=InboxState.results, on_change=InboxState.refresh),
        class_name="inbox-queue", spacing="3", padding="0.75rem", as_="nav",
        aria_label="Queue",
    )


def actions() -> rx.Component:
    """One column the panel's width: Claim the primary action, the others one secondary style."""
    secondary = dict(variant="soft", color_scheme="gray", width="100%")
    return rx.flex(
        rx.cond(InboxState.can_claim, rx.button("Claim", on_click=InboxState.claim, width="100%")),
        rx.select.root(
            rx.select.trigger(placeholder="Assign to", aria_label="Assign to", **secondary),
            rx.select.content(rx.foreach(
                InboxState.team, lambda member: rx.select.item(member["name"], value=member["id"]))),
            value="", on_change=InboxState.assign,
        ),
        rx.button("Suggest a reply", on_click=InboxState.suggest, **secondary),
        rx.cond(InboxState.with_team,
                rx.button("Hand back to the assistant", on_click=InboxState.hand_back, **secondary)),
        rx.cond(~InboxState.is_closed,
                rx.button("Close conversation", on_click=InboxState.close, **secondary)),
        direction="column", spacing="2", width="100%", class_name="inbox-actions",
    )


def customer_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(InboxState.customer_name, size="4", as_="h2"),
                  rx.cond(InboxState.customer_guest, rx.badge("Guest", color_scheme="amber")),
                  align="center"),
        rx.text(InboxState.customer_email, size="2", color_scheme="gray"),
        rx.cond(InboxState.customer_since != "",
                rx.text("Customer since ", InboxState.customer_since, size="2", color_scheme="gray")),
        actions(),
        rx.cond(
            InboxState.others.length() > 0,
            rx.vstack(
                rx.heading("Other conversations", size="2", as_="h3", id="other-conversations"),
                rx.el.ul(rx.foreach(InboxState.others, lambda other: rx.el.li(
                    rx.link(other["title"], href="/inbox?c=" + other["id"], size="2",
                            title=other["title"]))),
                    class_name="inbox-others", aria_labelledby="other-conversations"),
                spacing="1", width="100%",
            ),
        ),
        class_name="inbox-customer", spacing="3", padding="0.75rem", as_="aside",
        aria_label="Customer",
    )


def conversation_column() -> rx.Component:
    return rx.vstack(
        rx.box(
            rx.vstack(
                conversation_view(src=InboxState.stream_src, chat_id=InboxState.selected, draft=False,
                                  path="", viewer="agent", owner=SessionState.outbox, ready=CONNECTED),
                class_name="messages", width="100%", max_width="820px", margin_x="auto", padding="1rem",
            ),
            rx.box(id="scroll-anchor"),
            id="scroller", flex="1", width="100%", overflow_y="auto",
        ),
        rx.box(
            composer(chat_id=InboxState.selected, draft=False, owner=SessionState.outbox,
                     ready=CONNECTED, refused=InboxState.refused, label="Reply", send_label="Send reply",
                     placeholder="Reply to the customer…",
                     viewer="agent", suggestion=InboxState.suggestion, on_send=InboxState.reply,
                     on_unsent=SessionState.set_unsent),
            key_hint(),
            width="100%", max_width="820px", margin_x="auto", padding="1rem", class_name="composer-box",
        ),
        flex="1", height="100%", spacing="0", overflow="hidden", min_width="0",
        class_name="inbox-conversation",
    )


def inbox_page() -> rx.Component:
    """Nothing of the team's is put on the page (or opens a stream) until the session is known to
    be the team's: customers are sent to their chat by `InboxState.load`."""
    return rx.cond(
        (SessionState.role == "agent") | (SessionState.role == "admin"),
        rx.vstack(
            team_header("Inbox"),
            rx.cond(InboxState.notice != "", rx.callout(InboxState.notice, role="alert", width="100%")),
            rx.hstack(
                queue_column(),
                rx.cond(
                    InboxState.selected != "",
                    rx.fragment(conversation_column(), customer_panel()),
                    rx.center(rx.text("Choose a conversation from the queue.", color_scheme="gray"),
                              flex="1"),
                ),
                flex="1", width="100%", spacing="0", overflow="hidden", class_name="inbox",
            ),
            height="100dvh", spacing="0",
        ),
        rx.center(rx.spinner(size="3"), min_height="100dvh"),
    )


PAGE = dict(component=inbox_page, route="/inbox", title="Inbox · Helpdesk", on_load=InboxState.load)

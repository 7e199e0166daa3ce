"""/widget: the chat inside the website widget's frame (compact, a full-screen sheet on a phone);
/widget/account: signing up or logging in from the widget, where a guest's conversations move
to the account."""

import reflex as rx

from chatapp.components.auth_form import auth_form, field
from chatapp.components.client import CONNECTED, guest_session, widget_bridge
from chatapp.components.conversation import customer_composer, customer_messages
from chatapp.config import get_settings
from chatapp.state.auth_form import AuthFormState
from chatapp.state.chat import ChatState
from chatapp.widget_api import allowed_origins


def header_button(icon: str, label: str, **props) -> rx.Component:
    """A gray icon button like the frame's close button. No `size`: Reflex would resize the
    icon with it (36 px at "3"); assets/chat.css makes it 44 px square."""
    return rx.icon_button(rx.icon(icon, size=20), variant="ghost", color_scheme="gray", high_contrast=True,
                          aria_label=label, title=label, class_name="widget-icon-button", **props)


def past_conversations() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(header_button("history", "Past conversations")),
        rx.menu.content(rx.foreach(ChatState.threads, lambda thread: rx.menu.item(
            thread["title"], on_click=ChatState.open_conversation(thread["id"])))),
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.heading("Support", size="4", as_="h1"),
        rx.spacer(),
        rx.cond(ChatState.threads.length() > 0, past_conversations()),
        header_button("square-pen", "New conversation", on_click=ChatState.new_conversation),
        widget_bridge(allowed=list(allowed_origins(get_settings())), ready=CONNECTED,
                      identify_url=f"{get_settings().api_url}/api/widget/identify"),
        class_name="widget-header", align="center", width="100%",
    )


def guest_strip() -> rx.Component:
    return rx.cond(
        ChatState.guest,
        rx.vstack(
            # One line: the account page says that a guest's conversations move to the account.
            rx.text("You're chatting as a guest · ",
                    rx.link("Sign up or log in", href="/widget/account" + ChatState.widget_query,
                            title="Keep your conversations in an account", class_name="widget-account-link"),
                    size="2", color_scheme="gray"),
            rx.cond(
                ChatState.guest_email == "",
                rx.form(
                    rx.hstack(
                        rx.input(name="email", type="email", aria_label="Your email", auto_complete="email",
                                 placeholder="Email, for a follow-up", flex="1"),
                        rx.button("Leave email", type="submit", variant="soft"),
                        width="100%", spacing="2",
                    ),
                    on_submit=ChatState.leave_email, width="100%",
                ),
                rx.text("We'll follow up at ", ChatState.guest_email, " if needed.", size="1",
                        color_scheme="gray"),
            ),
            rx.cond(ChatState.notice != "", rx.text(ChatState.notice, size="1", role="status")),
            class_name="widget-guest", spacing="2", width="100%",
        ),
    )


def widget_page() -> rx.Component:
    return rx.vstack(
        header(),
        guest_strip(),
        guest_session(need=ChatState.needs_session, url=f"{get_settings().api_url}/api/widget/session"),
        rx.box(
            rx.vstack(
                customer_messages(),
                class_name="messages", width="100%", padding="0.75rem",
            ),
            rx.box(id="scroll-anchor"),
            id="scroller", flex="1", width="100%", overflow_y="auto",
        ),
        rx.box(
            customer_composer("Type your question…"),
            width="100%", padding="0.5rem 0.75rem 0.75rem", class_name="composer-box",
        ),
        class_name="widget", height="100dvh", spacing="0",
    )


def account_page() -> rx.Component:
    back = rx.link("← Back to the chat", href="/widget" + ChatState.widget_query, size="2")
    form = "widget-signup"
    sign_up = auth_form(
        form, "/api/auth/signup", "Sign up",
        field("Username", "username", form, AuthFormState.username_error, auto_complete="username"),
        field("Email", "email", form, AuthFormState.email_error, type="email", auto_complete="email"),
        field("Password", "password", form, AuthFormState.password_error, type="password",
              auto_complete="new-password"),
        widget=True,
    )
    log_in = auth_form(
        "widget-login", "/api/auth/login", "Log in",
        field("Email or username", "login", "widget-login", rx.Var.create(""), auto_complete="username"),
        field("Password", "password", "widget-login", rx.Var.create(""), type="password",
              auto_complete="current-password"),
        widget=True,
    )
    return rx.vstack(
        back,
        rx.tabs.root(
            rx.tabs.list(rx.tabs.trigger("Sign up", value="signup"),
                         rx.tabs.trigger("Log in", value="login")),
            rx.tabs.content(sign_up, value="signup", padding_top="1rem"),
            rx.tabs.content(log_in, value="login", padding_top="1rem"),
            default_value="signup", width="100%",
        ),
        rx.text("Your conversations as a guest move to your account.", size="1", color_scheme="gray"),
        class_name="widget", padding="1rem", spacing="3", min_height="100dvh",
    )


PAGE = dict(component=widget_page, route="/widget", title="Support chat", on_load=ChatState.load)
ACCOUNT_PAGE = dict(component=account_page, route="/widget/account", title="Support chat",
                    on_load=[AuthFormState.clear, ChatState.remember_widget_host])

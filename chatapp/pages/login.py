"""/login: email or username and password."""

import reflex as rx

from chatapp.components.auth_form import auth_card, auth_form, field
from chatapp.state.auth_form import AuthFormState
from chatapp.state.session import SessionState


def login_page() -> rx.Component:
    form = auth_form(
        "login-form",
        "/api/auth/login",
        "Log in",
        field("Email or username", "login", "login-form", rx.Var.create(""),
              auto_complete="username", required=True, auto_focus=True),
        field("Password", "password", "login-form", rx.Var.create(""),
              type="password", auto_complete="current-password", required=True),
    )
    footer = rx.text("New here? ", rx.link("Create an account", href="/signup"),
                     " · ", rx.link("Help centre", href="/help"), size="2")
    return auth_card("Log in", "Welcome back to Helpdesk support.", form, footer)


PAGE = dict(
    component=login_page,
    route="/login",
    title="Log in · Helpdesk",
    on_load=[AuthFormState.clear, SessionState.leave_if_logged_in],
)

"""/signup: username, email and password, each problem shown beside its field."""

import reflex as rx

from chatapp.components.auth_form import auth_card, auth_form, field
from chatapp.state.auth_form import AuthFormState
from chatapp.state.session import SessionState


def signup_page() -> rx.Component:
    form = auth_form(
        "signup-form",
        "/api/auth/signup",
        "Sign up",
        field("Username", "username", "signup-form", AuthFormState.username_error,
              auto_complete="username", required=True, auto_focus=True),
        field("Email", "email", "signup-form", AuthFormState.email_error,
              type="email", auto_complete="email", required=True),
        field("Password", "password", "signup-form", AuthFormState.password_error,
              type="password", auto_complete="new-password", required=True),
    )
    footer = rx.text("Already have an account? ", rx.link("Log in", href="/login"),
                     " · ", rx.link("Help centre", href="/help"), size="2")
    return auth_card("Create your account", "Get answers from our support assistant.", form, footer)


PAGE = dict(
    component=signup_page,
    route="/signup",
    title="Sign up · Helpdesk",
    on_load=[AuthFormState.clear, SessionState.leave_if_logged_in],
)

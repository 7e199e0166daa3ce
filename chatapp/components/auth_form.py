"""The card, labelled fields and submit button shared by the log-in and sign-up pages."""

from __future__ import annotations

import reflex as rx
from reflex.event import no_args_event_spec, passthrough_event_spec

from chatapp.config import get_settings
from chatapp.state.auth_form import AuthFormState


class AuthForm(rx.Component):
    """The form, posted as JSON by `auth_form.jsx`; `on_result` gets the route's refusal."""

    library = rx.asset("auth_form.jsx", shared=True).importable_path
    tag = "AuthForm"
    url: rx.Var[str]
    widget: rx.Var[bool]
    on_start: rx.EventHandler[no_args_event_spec]
    on_result: rx.EventHandler[passthrough_event_spec(dict)]


def field(label: str, name: str, form_id: str, error: rx.Var[str], **input_props) -> rx.Component:
    """A labelled input with its problem shown right under it (and announced)."""
    field_id = f"{form_id}-{name}"
    return rx.vstack(
        rx.el.label(label, html_for=field_id, class_name="field-label"),
        rx.input(
            id=field_id,
            name=name,
            size="3",
            width="100%",
            aria_invalid=rx.cond(error != "", "true", "false"),
            aria_describedby=f"{field_id}-error",
            **input_props,
        ),
        rx.text(error, id=f"{field_id}-error", color_scheme="red", size="2", role="alert"),
        spacing="1",
        width="100%",
    )


def auth_form(form_id: str, route: str, button: str, *fields: rx.Component,
              widget: bool = False) -> rx.Component:
    """Posts the fields to an auth route from the page, then shows the route's answer."""
    return AuthForm.create(
        rx.vstack(
            *fields,
            rx.cond(
                AuthFormState.message != "",
                rx.callout(AuthFormState.message, color_scheme="red", role="alert", width="100%"),
            ),
            # Enabled once the page runs: a submit before that would be the browser's own.
            rx.button(button, type="submit", size="3", width="100%", loading=AuthFormState.pending,
                      disabled=~rx.State.is_hydrated),
            spacing="4",
            width="100%",
        ),
        id=form_id,
        url=f"{get_settings().api_url}{route}",
        widget=widget,
        on_start=AuthFormState.start,
        on_result=AuthFormState.show_result,
        style={"width": "100%"},
    )


def auth_card(title: str, subtitle: str, form: rx.Component, footer: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.heading(title, size="7", as_="h1"),
                rx.text(subtitle, color_scheme="gray"),
                form,
                footer,
                spacing="5",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="420px",
        ),
        min_height="100vh",
        padding="4",
    )

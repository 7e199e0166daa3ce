"""The card, labelled fields and submit button shared by the log-in and sign-up pages."""

from __future__ import annotations

import json

import reflex as rx

from chatapp.config import get_settings
from chatapp.state.auth_form import AuthFormState

# Posts the form as JSON from the page (the route sets the HttpOnly cookie), then navigates on
# success or hands the route's answer to the state. Inline, so it never waits for a script load.
SUBMIT_AUTH_JS = """
(async (form, url) => {
  const data = Object.fromEntries(new FormData(document.getElementById(form)).entries());
  try {
    const response = await fetch(url, {method: "POST", credentials: "include",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(data)});
    const body = await response.json().catch(() => ({}));
    if (response.ok) { window.location.assign(body.next || "/chat"); return {ok: true}; }
    return {ok: false, errors: body.errors || {},
            message: body.message || "Something went wrong. Please try again."};
  } catch (error) {
    return {ok: false, errors: {},
            message: "Cannot reach the server. Check your connection and try again."};
  }
})(%s, %s)
"""


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


def auth_form(form_id: str, route: str, button: str, *fields: rx.Component) -> rx.Component:
    """Posts the fields to an auth route from the page, then shows the route's answer."""
    url = json.dumps(f"{get_settings().api_url}{route}")
    submit = rx.call_script(
        SUBMIT_AUTH_JS % (json.dumps(form_id), url),
        callback=AuthFormState.show_result,
    )
    return rx.form(
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
        method="post",  # never a GET: the browser's own submit would put the password in the URL
        no_validate=True,
        on_submit=[AuthFormState.start, submit],
        width="100%",
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

"""/inbox/team: the admin's team page; /welcome/<token>: joining the team, or setting a password."""

import reflex as rx

from chatapp.components.auth_form import auth_card, auth_form, field
from chatapp.components.team_header import team_header
from chatapp.state.auth_form import AuthFormState
from chatapp.state.team import TeamState
from chatapp.state.welcome import WelcomeState


def member_row(member: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(member["name"]),
        rx.table.cell(member["email"]),
        rx.table.cell(member["role"]),
        rx.table.cell(member["presence"]),
        rx.table.cell(rx.cond(
            member["active"] == "yes",
            rx.button("Deactivate", size="1", variant="soft", color_scheme="red",
                      on_click=TeamState.deactivate(member["id"]),
                      aria_label="Deactivate " + member["name"]),
            rx.button("Reactivate", size="1", variant="soft",
                      on_click=TeamState.reactivate(member["id"]),
                      aria_label="Reactivate " + member["name"]),
        )),
    )


def invite_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.input(name="email", type="email", aria_label="Email to invite", placeholder="name@example.com",
                     required=True, flex="1", min_width="200px"),
            rx.select(["agent", "admin"], name="role", default_value="agent", aria_label="Role"),
            rx.button("Invite", type="submit"),
            spacing="2", wrap="wrap", width="100%",
        ),
        on_submit=TeamState.invite, reset_on_submit=True, width="100%",
    )


def team_page() -> rx.Component:
    return rx.vstack(
        team_header("Team"),
        rx.vstack(
            rx.heading("Team", size="6", as_="h1"),
            rx.cond(TeamState.error != "", rx.callout(TeamState.error, color_scheme="red", role="alert")),
            rx.heading("Invite someone", size="3", as_="h2"),
            invite_form(),
            rx.cond(TeamState.invite_link != "", rx.vstack(
                rx.text(TeamState.invite_note, size="2"),
                rx.code(TeamState.invite_link, aria_label="Invitation link",
                        style={"word_break": "break-all"}),
                spacing="1",
            )),
            rx.heading("Members", size="3", as_="h2"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                   ("Name", "Email", "Role", "Status", "")])),
                    rx.table.body(rx.foreach(TeamState.members, member_row)),
                    width="100%",
                ),
                width="100%", overflow_x="auto",
            ),
            width="100%", max_width="960px", margin_x="auto", padding="1rem", spacing="4", as_="main",
        ),
        min_height="100dvh", spacing="0",
    )


def welcome_page() -> rx.Component:
    form = auth_form(
        "welcome-form",
        "/api/auth/accept",
        "Continue",
        rx.el.input(type="hidden", name="token", value=WelcomeState.token),
        rx.cond(WelcomeState.invite, field("Username", "username", "welcome-form",
                                           AuthFormState.username_error, auto_complete="username")),
        rx.cond(WelcomeState.invite, field("Your name, as customers see it", "name", "welcome-form",
                                           rx.Var.create(""), auto_complete="name", max_length=40)),
        field("Password", "password", "welcome-form", AuthFormState.password_error, type="password",
              auto_complete="new-password", required=True),
    )
    return rx.cond(
        WelcomeState.expired,
        auth_card("This link has expired", "It was already used, or it is too old. Ask an admin "
                  "for a new one.", rx.fragment(), rx.link("Log in", href="/login")),
        auth_card(rx.cond(WelcomeState.invite, "Join the support team", "Set your password"),
                  WelcomeState.email + " · " + WelcomeState.role, form,
                  rx.link("Help centre", href="/help", size="2")),
    )


PAGE = dict(component=team_page, route="/inbox/team", title="Team · Helpdesk", on_load=TeamState.load)
WELCOME_PAGE = dict(component=welcome_page, route="/welcome/[token]", title="Welcome · Helpdesk",
                    on_load=[AuthFormState.clear, WelcomeState.load])

"""The Reflex app: pages, the HTTP routes beside them, and the services' lifespan."""

import reflex as rx

from chatapp.api import api
from chatapp.components.outbox import reconnecting_banner
from chatapp.config import get_settings
from chatapp.pages import chat, help_centre, login, signup
from chatapp.runtime import lifespan
from chatapp.served_by import served_by
from chatapp.state.session import SessionState

get_settings()  # fail fast, with one line, on a configuration that cannot run


def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh")


app = rx.App(
    head_components=[rx.script(src="/helpdesk.js")],
    stylesheets=["/chat.css"],
    api_transformer=[api, served_by],
)
# Our banner replaces Reflex's connection toast: it also says that messages are kept.
app.app_wraps[(5, "Overlay")] = lambda stateful: reconnecting_banner() if stateful else None
app.register_lifespan_task(lifespan)
app.add_page(index, route="/", title="Helpdesk", on_load=SessionState.route_home)
PAGES = (login.PAGE, signup.PAGE, chat.PAGE, help_centre.PAGE, help_centre.ARTICLE_PAGE)
for page in PAGES:
    app.add_page(**page)

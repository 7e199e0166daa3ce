"""The Reflex app: pages, the HTTP routes beside them, and the services' lifespan."""

import reflex as rx

from chatapp.api import api
from chatapp.config import get_settings
from chatapp.pages import chat, help, login, signup
from chatapp.runtime import lifespan
from chatapp.state.session import SessionState

get_settings()  # fail fast, with one line, on a configuration that cannot run


def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh")


app = rx.App(
    head_components=[rx.script(src="/helpdesk.js")],
    api_transformer=api,
)
app.register_lifespan_task(lifespan)
app.add_page(index, route="/", title="Helpdesk", on_load=SessionState.route_home)
for page in (login.PAGE, signup.PAGE, chat.PAGE, chat.THREAD_PAGE, help.PAGE, help.ARTICLE_PAGE):
    app.add_page(**page)

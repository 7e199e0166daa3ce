"""The Reflex app: pages, the HTTP routes beside them, the session guard and the services' lifespan."""

import logging
from pathlib import Path

import reflex as rx
from reflex.constants import Dirs
from reflex.event import EventSpec
from reflex.utils.prerequisites import get_web_dir

from chatapp.api import api
from chatapp.components.banner import reconnecting_banner
from chatapp.components.client import notices
from chatapp.config import get_settings
from chatapp.pages import chat, help_centre, inbox, insights, knowledge, login, signup, team, widget
from chatapp.runtime import lifespan
from chatapp.security_headers import security_headers
from chatapp.served_by import served_by
from chatapp.state.notices import NoticeState, notify
from chatapp.state.session import SessionGuard, SessionState

settings = get_settings()  # fail fast, with one line, on a configuration that cannot run
log = logging.getLogger(__name__)


def built_pages() -> Path:
    """Where the production build writes the pages this backend serves."""
    return get_web_dir() / Dirs.STATIC


def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh")


def on_event_error(exception: Exception) -> EventSpec:
    """An event handler raised: log it (scrubbed like every line) and tell the page plainly,
    never with the exception's text."""
    log.error("event handler failed: %s", type(exception).__name__, exc_info=exception)
    return notify("Something went wrong. Please try again.")


app = rx.App(
    # The on-screen keyboard shrinks the page, so the composer stays in view above it.
    head_components=[rx.el.meta(
        name="viewport", content="width=device-width, initial-scale=1, interactive-widget=resizes-content")],
    stylesheets=["/chat.css"],
    api_transformer=[api, served_by(settings.jwt_secret),
                     security_headers(settings.api_url, settings.widget_allowed_origins, built_pages)],
    backend_exception_handler=on_event_error,
)
app.add_middleware(SessionGuard(), index=0)
# Our banner replaces Reflex's connection toast: it also says that messages are kept.
app.app_wraps[(5, "Overlay")] = lambda stateful: (
    rx.fragment(reconnecting_banner(), notices(notice=NoticeState.notice)) if stateful else None)
app.register_lifespan_task(lifespan)
app.add_page(index, route="/", title="Helpdesk", on_load=SessionState.route_home)
PAGES = (login.PAGE, signup.PAGE, chat.PAGE, help_centre.PAGE, help_centre.ARTICLE_PAGE,
         inbox.PAGE, team.PAGE, team.WELCOME_PAGE, widget.PAGE, widget.ACCOUNT_PAGE, knowledge.PAGE,
         knowledge.EDITOR_PAGE, insights.PAGE)
for page in PAGES:
    app.add_page(**page)

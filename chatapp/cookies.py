"""The session cookies: one for the app's own pages, one for the website widget.

Both are HttpOnly and set only by HTTP routes (Reflex state cannot). The app's is SameSite=Lax
(Secure over https). The widget lives in a third-party frame, where browsers block ordinary
cookies, so its cookie is `Partitioned; Secure; SameSite=None` (CHIPS): kept per embedding site,
sent only to Helpdesk inside that site's frame. Browsers accept Secure cookies over plain http
from localhost only: elsewhere the widget needs https.
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

from starlette.requests import Request
from starlette.responses import Response

from chatapp.config import Settings

WIDGET_HEADER = "x-helpdesk-widget"  # the widget's own requests say so


def from_header(header: str) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def session_token(settings: Settings, cookies: Mapping[str, str]) -> str | None:
    """The session a request carries: the app's own, else the widget's."""
    return cookies.get(settings.cookie_name) or cookies.get(settings.widget_cookie)


def from_widget(request: Request) -> bool:
    return request.headers.get(WIDGET_HEADER) == "1"


def _partitioned(response: Response, name: str, value: str, max_age: int) -> None:
    """Set-Cookie for CHIPS, written out: Python's cookie module knows `Partitioned` only from
    3.14 on. Session tokens are URL-safe, so the value needs no quoting."""
    response.headers.append("set-cookie", f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; "
                                          "Secure; SameSite=None; Partitioned")


def with_session(settings: Settings, response: Response, token: str, widget: bool) -> Response:
    if widget:
        _partitioned(response, settings.widget_cookie, token, settings.session_hours * 3600)
    else:
        response.set_cookie(settings.cookie_name, token, max_age=settings.session_hours * 3600,
                            httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
    return response


def without_session(settings: Settings, response: Response) -> Response:
    response.delete_cookie(settings.cookie_name, path="/", httponly=True, samesite="lax",
                           secure=settings.cookie_secure)
    _partitioned(response, settings.widget_cookie, "", 0)
    return response

"""HTTP routes of the website widget: whether a site may embed it, the guest session inside the
frame, identity from the host site, and the demo page.

The loader (assets/widget.js) asks /api/widget/config from the host page; the frame (/widget)
asks /api/widget/session and /api/widget/identify from Helpdesk's own origin, with the
partitioned widget cookie (see cookies.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from chatapp import cookies
from chatapp.client_address import client_address
from chatapp.config import ROOT, Settings
from chatapp.models import ASSIGNED, WAITING
from chatapp.runtime import services
from chatapp.security_headers import policy, script_hashes
from chatapp.services.guests import new_guest
from chatapp.services.store import StoreUnavailable

DEMO_PAGE = ROOT / "examples" / "widget-demo.html"
# The accent is the app's own (Radix indigo 9, rxconfig.py), so the launcher matches the chat it opens.
DEFAULTS = {"title": "Support", "accent": "#3e63dd", "greeting": "Questions? We're here to help.",
            "position": "right"}
log = logging.getLogger(__name__)


def allowed_origins(settings: Settings) -> tuple[str, ...]:
    """The sites that may embed the widget: the listed ones, and Helpdesk itself (the demo)."""
    return (*settings.widget_allowed_origins, *settings.frontend_origins)


async def config(request: Request) -> Response:
    """Whether the asking site may embed the widget, its defaults, and whether this visitor has a
    conversation with the team open (then the loader loads the chat at once, so replies raise
    its unread badge). Sent with the widget's partitioned cookie; never cached."""
    app = services()
    origin = request.headers.get("origin")
    if origin is None and request.headers.get("sec-fetch-site") == "same-origin":
        origin = app.settings.frontend_origins[0]
    headers = {"Cache-Control": "no-store", "Vary": "Origin, Cookie"}
    if request.headers.get("origin"):
        headers |= {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}
    if origin not in allowed_origins(app.settings):
        return JSONResponse({"allowed": False}, headers=headers)
    return JSONResponse({"allowed": True, **DEFAULTS, "resume": await _with_team(request)}, headers=headers)


async def _with_team(request: Request) -> bool:
    """Whether the visitor's session has a conversation waiting for, or with, a person."""
    try:
        user = await _session_user(request)
        threads = await services().threads.list(user.id, limit=20) if user is not None else []
    except StoreUnavailable:
        return False
    return any(thread.status in (WAITING, ASSIGNED) for thread in threads)


async def _session_user(request: Request):
    app = services()
    return await app.accounts.authenticate(cookies.session_token(app.settings, request.cookies))


async def session(request: Request) -> Response:
    """A guest session for a frame that has none (no account is made until it writes)."""
    app = services()
    try:
        current = await _session_user(request)
    except StoreUnavailable:
        return JSONResponse({"changed": False}, status_code=503, headers={"Retry-After": "5"})
    if current is not None:
        return JSONResponse({"changed": False})
    limit = app.settings.guests_per_hour
    event, wait = await app.limiter.hit(f"guests:{client_address(request)}", limit, 3600)
    if not event:
        response = JSONResponse({"changed": False, "message": "Too many new chats from your network."},
                                status_code=429)
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response
    token = app.accounts.guest_session(new_guest())
    return cookies.with_session(app.settings, JSONResponse({"changed": True}), token, widget=True)


async def identify(request: Request) -> Response:
    """`Helpdesk.identify(...)` from the host site: a valid signature opens that customer's
    conversations (a guest's move to them); a missing or wrong one is a guest, never anyone's."""
    app = services()
    try:
        data = json.loads((await request.body())[:4096] or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict) or request.headers.get("origin") not in app.settings.frontend_origins:
        return JSONResponse({"changed": False}, status_code=400)
    fields = {key: data[key] if isinstance(data.get(key), str) else "" for key in
              ("user_id", "email", "name", "user_hash")}
    try:
        current = await _session_user(request)
        customer = await app.guests.identified(**fields)
    except StoreUnavailable:
        return JSONResponse({"changed": False}, status_code=503, headers={"Retry-After": "5"})
    if customer is None:  # not vouched for: a guest (the current one, if it is one)
        if current is not None and current.is_guest:
            return JSONResponse({"changed": False})
        token = app.accounts.guest_session(new_guest())
    elif current is not None and current.id == customer.id:
        return JSONResponse({"changed": False})
    else:
        await app.guests.claim(current, customer)
        token = app.accounts.tokens.issue(customer)
    return cookies.with_session(app.settings, JSONResponse({"changed": True}), token, widget=True)


def _demo_page(page: Path) -> Response:
    """The pretend company site, under a policy that allows its own inline scripts."""
    body = page.read_bytes()
    csp = policy(services().settings.api_url, script_hashes([body]), ())
    return HTMLResponse(body, headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache"})


async def demo(request: Request) -> Response:
    return _demo_page(DEMO_PAGE)


ROUTES = [
    Route("/api/widget/config", config, methods=["GET"]),
    Route("/api/widget/session", session, methods=["POST"]),
    Route("/api/widget/identify", identify, methods=["POST"]),
    Route("/widget-demo", demo, methods=["GET"]),
]

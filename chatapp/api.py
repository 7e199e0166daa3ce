"""Plain HTTP routes beside the Reflex app: the session cookie (HttpOnly) and health checks.

Reflex state cannot set HttpOnly cookies, so log-in, sign-up and log-out are HTTP routes. They
refuse requests from origins not in FRONTEND_ORIGINS, so no other site can drive them. Their
outcomes are logged without passwords or tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from chatapp import cookies, insights_api, knowledge_api, widget_api
from chatapp.client_address import client_address
from chatapp.live import conversation_events, inbox_events
from chatapp.runtime import services
from chatapp.services.auth import LoginRefused, SignupRejected, TooManySignups
from chatapp.services.store import StoreUnavailable
from chatapp.services.team import TeamError

MAX_BODY = 16_384
READY_TIMEOUT = 1.0  # seconds a dependency may take to answer a readiness probe

log = logging.getLogger(__name__)


def _origin_allowed(request: Request) -> bool:
    """Browsers send Origin on every cross-site POST; absent means a non-browser client."""
    origin = request.headers.get("origin")
    if origin is None or origin in services().settings.frontend_origins:
        return True
    log.warning("auth request from a foreign origin refused",
                extra={"path": request.url.path, "origin": origin})
    return False


async def _form(request: Request, action: str) -> dict[str, Any] | JSONResponse:
    """The posted JSON object, or the refusal to send: a foreign origin or an unreadable body."""
    if not _origin_allowed(request):
        return _refuse(403, f"This site may not {action} here.")
    body = await request.body()
    try:
        data = json.loads(body or b"{}") if len(body) <= MAX_BODY else None
    except (ValueError, RecursionError):  # not JSON, or nested deeper than any form
        data = None
    if not isinstance(data, dict):
        return _refuse(400, "The request was not understood. Reload the page and try again.")
    return data


def _field(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _with_session(request: Request, response: Response, token: str) -> Response:
    return cookies.with_session(services().settings, response, token, cookies.from_widget(request))


async def _current(request: Request):
    """Who the request's session belongs to (None: nobody, or the database is away)."""
    app = services()
    try:
        return await app.accounts.authenticate(cookies.session_token(app.settings, request.cookies))
    except StoreUnavailable:
        return None


def _next(request: Request, page: str) -> str:
    """Where the page goes after signing in: the widget stays in the widget."""
    return "/widget" if cookies.from_widget(request) else page


def _refuse(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "message": message, **extra}, status_code=status)


def _too_many(message: str, retry_after: float) -> JSONResponse:
    seconds = max(1, round(retry_after))
    response = _refuse(429, message, retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response


async def sign_up(request: Request) -> Response:
    data = await _form(request, "create accounts")
    if isinstance(data, JSONResponse):
        return data
    client = client_address(request)
    guest = await _current(request)
    try:
        user, token = await services().accounts.sign_up(
            _field(data, "username"), _field(data, "email"), _field(data, "password"), client
        )
    except SignupRejected as rejected:
        log.info("sign-up rejected", extra={"fields": sorted(rejected.errors)})
        return _refuse(400, "Please fix the highlighted fields.", errors=rejected.errors)
    except TooManySignups as limited:
        log.info("sign-up limited", extra={"client": client})
        return _too_many(str(limited), limited.retry_after)
    log.info("signed up", extra={"user_id": user.id})
    await services().guests.claim(guest, user)
    return _with_session(request, JSONResponse({"ok": True, "next": _next(request, "/chat")},
                                               status_code=201), token)


async def log_in(request: Request) -> Response:
    data = await _form(request, "log in")
    if isinstance(data, JSONResponse):
        return data
    client = client_address(request)
    guest = await _current(request)
    try:
        user, token = await services().accounts.log_in(
            _field(data, "login"), _field(data, "password"), client
        )
    except LoginRefused as refused:
        log.info("log-in refused", extra={"client": client, "locked": bool(refused.retry_after)})
        if refused.retry_after:
            return _too_many(str(refused), refused.retry_after)
        return _refuse(401, str(refused))
    log.info("logged in", extra={"user_id": user.id, "client": client})
    await services().guests.claim(guest, user)
    page = _next(request, "/inbox" if user.on_team else "/chat")
    return _with_session(request, JSONResponse({"ok": True, "next": page}), token)


async def accept_link(request: Request) -> Response:
    """A one-time link from an admin (an invitation) or from `make admin` (set a password)."""
    data = await _form(request, "join the team")
    if isinstance(data, JSONResponse):
        return data
    try:
        user, token = await services().team.accept(
            _field(data, "token"), _field(data, "username"), _field(data, "name"), _field(data, "password"))
    except TeamError as refused:
        return _refuse(400, str(refused))
    except SignupRejected as rejected:
        return _refuse(400, "Please fix the highlighted fields.", errors=rejected.errors)
    log.info("joined the team", extra={"user_id": user.id, "role": user.role})
    return _with_session(request, JSONResponse({"ok": True, "next": "/inbox"}), token)


async def log_out(request: Request) -> Response:
    """Ends the session everywhere. The page posts a plain form (no script needed), answered by a
    redirect to its own /login; API clients posting JSON get JSON."""
    if not _origin_allowed(request):
        return _refuse(403, "This site may not log out here.")
    settings = services().settings
    await services().accounts.log_out(cookies.session_token(settings, request.cookies))
    log.info("logged out")
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        origin = request.headers.get("origin") or settings.frontend_origins[0]
        response: Response = RedirectResponse(f"{origin}/login", status_code=303)
    else:
        response = JSONResponse({"ok": True, "next": "/login"})
    return cookies.without_session(settings, response)


async def health(request: Request) -> Response:
    database = await services().store.ping()
    return JSONResponse(
        {"status": "ok" if database else "degraded", "database": database,
         "history_cache": services().cache.stats()},
        status_code=200 if database else 503,
    )


async def alive(request: Request) -> Response:
    """Liveness: the process answers. Restart it only when this fails."""
    return JSONResponse({"alive": True})


async def _answers(check: Awaitable[bool]) -> bool:
    try:
        return await asyncio.wait_for(check, READY_TIMEOUT)
    except TimeoutError:
        return False


async def _redis_answers(redis: Redis) -> bool:
    try:
        return bool(await redis.ping())
    except RedisError:
        return False


async def ready(request: Request) -> Response:
    """Readiness: every dependency answers within a second; else 503 naming the ones that do not."""
    checks = {"database": services().store.ping()}
    if services().redis is not None:
        checks["redis"] = _redis_answers(services().redis)
    results = await asyncio.gather(*(_answers(check) for check in checks.values()))
    failing = [name for name, ok in zip(checks, results, strict=True) if not ok]
    if failing:
        log.warning("not ready", extra={"failing": failing})
        return JSONResponse({"ready": False, "failing": failing}, status_code=503)
    return JSONResponse({"ready": True, "failing": []})


api = Starlette(
    routes=[
        Route("/api/auth/signup", sign_up, methods=["POST"]),
        Route("/api/auth/login", log_in, methods=["POST"]),
        Route("/api/auth/logout", log_out, methods=["POST"]),
        Route("/api/auth/accept", accept_link, methods=["POST"]),
        Route("/api/health", health, methods=["GET"]),
        Route("/api/conversations/{chat_id}/events", conversation_events, methods=["GET"]),
        Route("/api/inbox/events", inbox_events, methods=["GET"]),
        Route("/healthz", alive, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
        *widget_api.ROUTES,
        *knowledge_api.ROUTES,
        *insights_api.ROUTES,
    ]
)

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

from chatapp.live import conversation_events, inbox_events
from chatapp.runtime import services
from chatapp.services.auth import LoginRefused, SignupRejected, TooManySignups
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


def _client_address(request: Request) -> str:
    """The caller's address; behind N trusted proxies, the Nth X-Forwarded-For entry from the right."""
    hops = services().settings.trusted_proxy_hops
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")]
    if hops and len(forwarded) >= hops and forwarded[-hops]:
        return forwarded[-hops]
    return request.client.host if request.client else "unknown"


def _with_session(response: Response, token: str) -> Response:
    settings = services().settings
    response.set_cookie(
        settings.cookie_name,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response


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
    client = _client_address(request)
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
    return _with_session(JSONResponse({"ok": True, "next": "/chat"}, status_code=201), token)


async def log_in(request: Request) -> Response:
    data = await _form(request, "log in")
    if isinstance(data, JSONResponse):
        return data
    client = _client_address(request)
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
    return _with_session(JSONResponse({"ok": True, "next": "/inbox" if user.on_team else "/chat"}), token)


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
    return _with_session(JSONResponse({"ok": True, "next": "/inbox"}), token)


async def log_out(request: Request) -> Response:
    """Ends the session everywhere. The page posts a plain form (no script needed), answered by a
    redirect to its own /login; API clients posting JSON get JSON."""
    if not _origin_allowed(request):
        return _refuse(403, "This site may not log out here.")
    settings = services().settings
    await services().accounts.log_out(request.cookies.get(settings.cookie_name))
    log.info("logged out")
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        origin = request.headers.get("origin") or settings.frontend_origins[0]
        response: Response = RedirectResponse(f"{origin}/login", status_code=303)
    else:
        response = JSONResponse({"ok": True, "next": "/login"})
    response.delete_cookie(
        settings.cookie_name, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )
    return response


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
    ]
)

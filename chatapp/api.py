"""Plain HTTP routes beside the Reflex app: the session cookie (HttpOnly) and health checks.

Reflex state cannot set HttpOnly cookies, so log-in, sign-up and log-out are HTTP routes. They
refuse requests from origins that are not the app's own, so no other site can drive them.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatapp.live import live_answer
from chatapp.runtime import services
from chatapp.services.auth import LoginRefused, SignupRejected

MAX_BODY = 16_384


def _origin_allowed(request: Request) -> bool:
    """Browsers send Origin on every cross-site POST; absent means a non-browser client."""
    origin = request.headers.get("origin")
    return origin is None or origin in services().settings.frontend_origins


async def _form(request: Request, action: str) -> dict[str, Any] | JSONResponse:
    """The posted JSON object, or the refusal to send: a foreign origin or an unreadable body."""
    if not _origin_allowed(request):
        return _refuse(403, f"This site may not {action} here.")
    body = await request.body()
    try:
        data = json.loads(body or b"{}") if len(body) <= MAX_BODY else None
    except ValueError:
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


async def sign_up(request: Request) -> Response:
    data = await _form(request, "create accounts")
    if isinstance(data, JSONResponse):
        return data
    try:
        _, token = await services().accounts.sign_up(
            _field(data, "username"), _field(data, "email"), _field(data, "password")
        )
    except SignupRejected as rejected:
        return _refuse(400, "Please fix the highlighted fields.", errors=rejected.errors)
    return _with_session(JSONResponse({"ok": True, "next": "/chat"}, status_code=201), token)


async def log_in(request: Request) -> Response:
    data = await _form(request, "log in")
    if isinstance(data, JSONResponse):
        return data
    try:
        _, token = await services().accounts.log_in(
            _field(data, "login"), _field(data, "password"), _client_address(request)
        )
    except LoginRefused as refused:
        if refused.retry_after:
            response = _refuse(429, str(refused), retry_after=round(refused.retry_after))
            response.headers["Retry-After"] = str(round(refused.retry_after))
            return response
        return _refuse(401, str(refused))
    return _with_session(JSONResponse({"ok": True, "next": "/chat"}), token)


async def log_out(request: Request) -> Response:
    if not _origin_allowed(request):
        return _refuse(403, "This site may not log out here.")
    settings = services().settings
    await services().accounts.log_out(request.cookies.get(settings.cookie_name))
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


api = Starlette(
    routes=[
        Route("/api/auth/signup", sign_up, methods=["POST"]),
        Route("/api/auth/login", log_in, methods=["POST"]),
        Route("/api/auth/logout", log_out, methods=["POST"]),
        Route("/api/health", health, methods=["GET"]),
        Route("/api/chats/{chat_id}/live", live_answer, methods=["GET"]),
    ]
)

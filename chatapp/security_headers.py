"""Security headers on HTTP responses: a Content-Security-Policy and no framing on every page.

Pages may only run the app's own scripts: the inline scripts the build writes into its pages
(React Router's hydration, the colour-mode switch) are allowed by their SHA-256 hashes, read
once from the built pages, so nothing injected can run and neither `unsafe-inline` nor
`unsafe-eval` is needed. Pages can be framed only by the app itself (`frame-ancestors 'self'`),
so no other site can clickjack "Clear all history"; the chat widget's pages (`/widget`) may also
be framed by the sites listed in WIDGET_ALLOWED_ORIGINS.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
WIDGET_PREFIX = "/widget"
ASSETS = "/assets/"  # the frontend build's files, named by their content's hash
IMMUTABLE = b"public, max-age=31536000, immutable"


def script_hashes(pages: Iterable[bytes]) -> tuple[str, ...]:
    """The CSP source expressions of every inline script in the pages, once each."""
    return tuple(dict.fromkeys(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for page in pages for body in INLINE_SCRIPT.findall(page)))


@cache
def built_page_hashes(directory: Path, built: int) -> tuple[str, ...]:
    """The inline scripts of every page the frontend build wrote at `built` (read once a build)."""
    return script_hashes(path.read_bytes() for path in sorted(directory.rglob("*.html")))


def _origins_with_sockets(origins: Iterable[str]) -> list[str]:
    """Each http(s) origin and its websocket twin (the event socket)."""
    result: list[str] = []
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https") and parts.netloc:
            result += [f"{parts.scheme}://{parts.netloc}",
                       f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"]
    return list(dict.fromkeys(result))


def policy(api_url: str, hashes: Iterable[str], ancestors: Iterable[str]) -> str:
    backend = _origins_with_sockets([api_url])
    connect = " ".join(["'self'", *backend])
    forms = " ".join(["'self'", *backend[:1]])  # log-out posts a form to the backend
    framers = " ".join(["'self'", *ancestors])
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self'", *hashes]),
        "style-src 'self' 'unsafe-inline'",  # Emotion and Radix write style tags at run time
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        f"connect-src {connect}",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        f"form-action {forms}",
        f"frame-ancestors {framers}",
    ])


_policy = cache(policy)


def security_headers(api_url: str, widget_origins: Iterable[str],
                     pages: Callable[[], Path]):
    """An API transformer adding the policy (and the usual companions) to HTTP responses;
    `pages()` names the directory of the built frontend, whose inline scripts are allowed."""
    widget_origins = tuple(widget_origins)

    def transform(app: ASGIApp) -> ASGIApp:
        async def with_headers(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = scope.get("path", "")
            framed = path == WIDGET_PREFIX or path.startswith(WIDGET_PREFIX + "/")

            def csp() -> str:  # for documents only: a script or an API answer needs none
                directory = pages()
                built = directory.is_dir()
                hashes = built_page_hashes(directory, directory.stat().st_mtime_ns) if built else ()
                return _policy(api_url, hashes, widget_origins if framed else ())

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = _with(message, csp, framed, path)
                await send(message)

            await app(scope, receive, send_with_headers)

        return with_headers

    return transform


def _with(message: Message, csp: Callable[[], str], framed: bool, path: str) -> Message:
    """The policy and the framing rule on documents (they mean nothing on a script, an image or
    JSON, where the 1.5 KB policy would only cost bytes); the build's fingerprinted files are
    cached for good, as the static host (scripts/serve_export.py) caches them."""
    headers = message.get("headers", [])
    names = {name.lower(): value for name, value in headers}
    extra = [(b"x-content-type-options", b"nosniff"),
             (b"referrer-policy", b"strict-origin-when-cross-origin")]
    if names.get(b"content-type", b"").startswith(b"text/html"):
        if b"content-security-policy" not in names:  # a route may set its own
            extra.append((b"content-security-policy", csp().encode()))
        if not framed:
            extra.append((b"x-frame-options", b"SAMEORIGIN"))
    if path.startswith(ASSETS) and message.get("status") == 200 and b"cache-control" not in names:
        extra.append((b"cache-control", IMMUTABLE))
    return {**message, "headers": [*headers, *extra]}

"""Names the worker process in every HTTP response, so operators (and the multi-worker tests)
can see which of several workers served a request. Granian sends no extra headers on a
websocket handshake, so an event socket's worker shows in the log lines instead (each names
its process)."""

from __future__ import annotations

import os
import socket

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-served-by"


def served_by(app: ASGIApp) -> ASGIApp:
    """Add `X-Served-By: <host>:<pid>` to HTTP responses."""
    value = f"{socket.gethostname()}:{os.getpid()}".encode()

    async def with_header(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, value)]}
            await send(message)

        await app(scope, receive, send_named)

    return with_header

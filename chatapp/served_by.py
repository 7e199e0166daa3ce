"""Names the worker process in every response, so operators (and the multi-worker tests) can
see which of several workers served a request or opened an event socket."""

from __future__ import annotations

import os
import socket

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-served-by"


def served_by(app: ASGIApp) -> ASGIApp:
    """Add `X-Served-By: <host>:<pid>` to HTTP responses and websocket handshakes."""

    async def with_header(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        value = f"{socket.gethostname()}:{os.getpid()}".encode()

        async def send_named(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", []), (HEADER, value)]}
            await send(message)

        await app(scope, receive, send_named)

    return with_header

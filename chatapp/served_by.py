"""Names the worker process in every HTTP response, so operators (and the multi-worker tests)
can see which of several workers served a request, without telling the world the host name
and pid: the header carries an opaque id, and each worker logs its id beside its pid once.
Granian sends no extra headers on a websocket handshake, so an event socket's worker shows in
the log lines instead (each names its process)."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from functools import cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-served-by"
log = logging.getLogger(__name__)


@cache
def _worker_id(pid: int, salt: str) -> bytes:
    """Stable for this process; unguessable without the salt (the server's secret)."""
    worker = hashlib.sha256(f"{salt}:{socket.gethostname()}:{pid}".encode()).hexdigest()[:12]
    log.info("worker id", extra={"worker_id": worker})  # the log line names the pid
    return worker.encode()


def served_by(salt: str):
    """An API transformer adding `X-Served-By: <opaque worker id>` to HTTP responses."""

    def transform(app: ASGIApp) -> ASGIApp:
        async def with_header(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            value = _worker_id(os.getpid(), salt)

            async def send_named(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), (HEADER, value)]}
                await send(message)

            await app(scope, receive, send_named)

        return with_header

    return transform

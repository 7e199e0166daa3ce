"""Who sent a request: its address, or behind N trusted proxies (TRUSTED_PROXY_HOPS) the Nth
X-Forwarded-For entry from the right, so per-client limits see the real client."""

from __future__ import annotations

from starlette.requests import Request

from chatapp.runtime import services


def client_address(request: Request) -> str:
    hops = services().settings.trusted_proxy_hops
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")]
    if hops and len(forwarded) >= hops and forwarded[-hops]:
        return forwarded[-hops]
    return request.client.host if request.client else "unknown"

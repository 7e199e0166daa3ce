"""The process's service objects, built once in the app's lifespan and shared by states and routes.

Clients and connections live here, never in Reflex state (state must stay picklable).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from chatapp.config import Settings, get_settings
from chatapp.services.auth import Accounts, TokenCodec
from chatapp.services.ratelimit import MemoryRateLimiter, RateLimiter
from chatapp.services.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    limiter: RateLimiter
    accounts: Accounts


_services: Services | None = None


def build(settings: Settings) -> Services:
    store = Store(settings.mongodb_uri, settings.mongodb_db, settings.db_timeout_ms)
    limiter = MemoryRateLimiter()
    accounts = Accounts(
        store.users,
        TokenCodec(settings.jwt_secret, timedelta(hours=settings.session_hours)),
        limiter,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
    )
    return Services(settings=settings, store=store, limiter=limiter, accounts=accounts)


def services() -> Services:
    """The running app's services (started by the lifespan task)."""
    if _services is None:
        raise RuntimeError("Services are not started: the app's lifespan has not run.")
    return _services


@contextlib.asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """Connect to the database and create indexes before serving; close on shutdown."""
    global _services
    _services = build(get_settings())
    try:
        await _services.store.ensure_indexes()
    except Exception as error:  # noqa: BLE001 - say what is wrong and keep serving /readyz
        log.error("Database not reachable at start-up (%s); retrying on first use.", error)
    try:
        yield
    finally:
        _services.store.close()
        _services = None

"""The process's service objects, built once in the app's lifespan and shared by states and routes.

Clients and connections live here, never in Reflex state (state must stay picklable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from redis.asyncio import Redis

from chatapp import logs
from chatapp.config import Settings, get_settings
from chatapp.services.assistant import Assistant, StopRequests
from chatapp.services.auth import Accounts, TokenCodec
from chatapp.services.cache import HistoryCache, RedisVersions
from chatapp.services.conversations import Conversations, Policy
from chatapp.services.events import EventLog, MemoryEventLog, RedisEventLog
from chatapp.services.feed import Feed
from chatapp.services.guests import Guests
from chatapp.services.hours import SupportHours
from chatapp.services.knowledge import KnowledgeBase, load_if_changed
from chatapp.services.llm.base import Provider
from chatapp.services.llm.local import LocalResponder
from chatapp.services.llm.openrouter import OpenRouterProvider, make_client
from chatapp.services.presence import MemoryPresence, Presence, RedisPresence
from chatapp.services.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from chatapp.services.store import Store
from chatapp.services.team import Team
from chatapp.services.threads import Threads

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    limiter: RateLimiter
    accounts: Accounts
    threads: Threads
    cache: HistoryCache
    knowledge: KnowledgeSource
    events: EventLog
    feed: Feed
    assistant: Assistant
    conversations: Conversations
    presence: Presence
    team: Team
    guests: Guests
    redis: Redis | None  # set when several workers share limits, caches and streams


class KnowledgeSource:
    """The knowledge base, rebuilt when its folder changed since it was last asked for."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._base = KnowledgeBase.load(directory)

    def __call__(self) -> KnowledgeBase:
        self._base = load_if_changed(self._base, self.directory)
        return self._base


_services: Services | None = None


def build(settings: Settings) -> Services:
    store = Store(settings.mongodb_uri, settings.mongodb_db, settings.db_timeout_ms)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    limiter = RedisRateLimiter(redis) if redis else MemoryRateLimiter()
    accounts = Accounts(
        store.users,
        TokenCodec(settings.jwt_secret, timedelta(hours=settings.session_hours)),
        limiter,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
        signups_per_hour=settings.signups_per_hour,
    )
    threads = Threads(store.db)
    cache = HistoryCache(threads.messages, settings.cache_maxsize, settings.cache_ttl_seconds,
                         versions=RedisVersions(redis) if redis else None)
    model: OpenRouterProvider | None = None
    if settings.openrouter_key:
        model = OpenRouterProvider(
            api_key=settings.openrouter_key,
            base_url=settings.openrouter_base_url,
            models=settings.openrouter_models,
            client=make_client(),
            total_budget=settings.llm_total_timeout,
            referer=settings.frontend_origins[0],
        )
    local = LocalResponder()
    provider: Provider = model or local
    knowledge = KnowledgeSource(settings.knowledge_dir)
    events: EventLog = RedisEventLog(redis) if redis else MemoryEventLog()
    feed = Feed(events, knowledge)
    assistant = Assistant(threads, cache, feed, knowledge, provider, local, StopRequests(redis))
    presence: Presence = RedisPresence(redis) if redis else MemoryPresence()
    conversations = Conversations(
        threads, cache, feed, assistant, limiter, store.users,
        Policy(settings.max_message_chars, settings.ai_messages_per_minute,
               settings.guest_messages_per_minute),
        SupportHours(settings.support_hours, settings.support_timezone), presence, model)
    return Services(settings=settings, store=store, limiter=limiter, accounts=accounts,
                    threads=threads, cache=cache, knowledge=knowledge, events=events, feed=feed,
                    assistant=assistant, conversations=conversations, presence=presence,
                    team=Team(store.db, store.users, accounts),
                    guests=Guests(store.users, threads, cache,
                                  identity_secret=settings.widget_identity_secret,
                                  retention_days=settings.guest_retention_days),
                    redis=redis)


async def _purge_guests_daily(app: Services) -> None:
    """Unclaimed guests past GUEST_RETENTION_DAYS go, an hour after start and then daily."""
    while True:
        await asyncio.sleep(3600)
        try:
            await app.guests.purge()
        except Exception:
            log.warning("could not delete old guests", exc_info=True)
        await asyncio.sleep(86_400 - 3600)


def services() -> Services:
    """The running app's services (started by the lifespan task)."""
    if _services is None:
        raise RuntimeError("Services are not started: the app's lifespan has not run.")
    return _services


@contextlib.asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """Connect to the database and create indexes before serving; close on shutdown."""
    global _services
    settings = get_settings()
    logs.configure(settings)
    log.info("starting", extra=logs.summary(settings))
    _services = build(settings)
    try:
        await _services.store.ensure_indexes()
        await _services.threads.ensure_indexes()
        await _services.team.ensure_indexes()
    except Exception as error:  # noqa: BLE001 - say what is wrong and keep serving
        log.error("Database not reachable at start-up (%s); retrying on first use.", error)
    purging = asyncio.create_task(_purge_guests_daily(_services))
    try:
        yield
    finally:
        purging.cancel()
        await _services.assistant.drain(settings.shutdown_grace_seconds)
        await _services.conversations.drain()
        _services.store.close()
        if _services.redis is not None:
            await _services.redis.aclose()
        _services = None

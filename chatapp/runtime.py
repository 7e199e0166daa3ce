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

from redis.asyncio import Redis

from chatapp import logs
from chatapp.actions import Actions
from chatapp.config import Settings, get_settings
from chatapp.services.assistant import Assistant, StopRequests
from chatapp.services.auth import Accounts, TokenCodec
from chatapp.services.cache import HistoryCache, RedisVersions
from chatapp.services.conversations import Conversations, Policy
from chatapp.services.events import EventLog, MemoryEventLog, RedisEventLog
from chatapp.services.feed import Feed
from chatapp.services.feedback import Feedback
from chatapp.services.guests import Guests
from chatapp.services.hours import SupportHours
from chatapp.services.insights import Insights
from chatapp.services.knowledge import KnowledgeService
from chatapp.services.knowledge.desk import KnowledgeDesk
from chatapp.services.llm.base import Provider
from chatapp.services.llm.fake import FakeModel
from chatapp.services.llm.local import LocalResponder
from chatapp.services.llm.openrouter import OpenRouterProvider, make_client
from chatapp.services.presence import MemoryPresence, Presence, RedisPresence
from chatapp.services.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from chatapp.services.store import Store
from chatapp.services.team import Team
from chatapp.services.threads import Threads
from chatapp.services.transcript import Transcripts

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    limiter: RateLimiter
    accounts: Accounts
    threads: Threads
    cache: HistoryCache
    knowledge: KnowledgeService
    desk: KnowledgeDesk
    events: EventLog
    feed: Feed
    assistant: Assistant
    conversations: Conversations
    presence: Presence
    team: Team
    guests: Guests
    feedback: Feedback
    insights: Insights
    transcripts: Transcripts
    actions: Actions | None  # None: ACTIONS_ENABLED=false
    redis: Redis | None  # set when several workers share limits, caches and streams


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
    provider: Provider = FakeModel() if settings.fake_llm else model or local
    knowledge = KnowledgeService(store.db, redis, settings.knowledge_dir)
    events: EventLog = RedisEventLog(redis) if redis else MemoryEventLog()
    feed = Feed(events, knowledge.current, knowledge.unlisted_articles)
    actions = Actions(store.db, threads, store.users, cache, feed, limiter,
                      timeout=settings.action_timeout_seconds, per_minute=settings.actions_per_minute,
                      max_per_answer=settings.max_actions_per_answer) if settings.actions_enabled else None
    assistant = Assistant(threads, cache, feed, knowledge.current, provider, local, StopRequests(redis),
                          actions=actions)
    presence: Presence = RedisPresence(redis) if redis else MemoryPresence()
    conversations = Conversations(
        threads, cache, feed, assistant, limiter, store.users,
        Policy(settings.max_message_chars, settings.ai_messages_per_minute,
               settings.guest_messages_per_minute),
        SupportHours(settings.support_hours, settings.support_timezone), presence, model)
    return Services(settings=settings, store=store, limiter=limiter, accounts=accounts,
                    threads=threads, cache=cache, knowledge=knowledge, desk=KnowledgeDesk(knowledge),
                    events=events, feed=feed,
                    assistant=assistant, conversations=conversations, presence=presence,
                    team=Team(store.db, store.users, accounts),
                    guests=Guests(store.users, threads, cache,
                                  identity_secret=settings.widget_identity_secret,
                                  retention_days=settings.guest_retention_days),
                    feedback=Feedback(store.db), insights=Insights(store.db, knowledge.current),
                    transcripts=Transcripts(threads, knowledge.current), actions=actions, redis=redis)


async def _purge_guests_daily(app: Services) -> None:
    """Unclaimed guests past GUEST_RETENTION_DAYS go, an hour after start and then daily."""
    while True:
        await asyncio.sleep(3600)
        try:
            await app.guests.purge()
        except Exception:
            log.warning("could not delete old guests", exc_info=True)
        await asyncio.sleep(86_400 - 3600)


async def _load_knowledge(app: Services) -> bool:
    """Load the articles from MongoDB (seeding an empty database from knowledge/)."""
    try:
        await app.knowledge.start()
    except Exception as error:  # noqa: BLE001 - say what is wrong and keep serving
        log.error("Knowledge base not loaded from the database (%s); retrying.", error)
        return False
    return True


async def _keep_loading_knowledge(app: Services) -> None:
    while True:
        await asyncio.sleep(5)
        if await _load_knowledge(app):
            return


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
        await _services.insights.backfill()
    except Exception as error:  # noqa: BLE001 - say what is wrong and keep serving
        log.error("Database not reachable at start-up (%s); retrying on first use.", error)
    tasks = [asyncio.create_task(_purge_guests_daily(_services))]
    if not await _load_knowledge(_services):  # meanwhile the folder's articles answer
        await asyncio.to_thread(_services.knowledge.serve_folder)
        tasks.append(asyncio.create_task(_keep_loading_knowledge(_services)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await _services.knowledge.close()
        await _services.assistant.drain(settings.shutdown_grace_seconds)
        if _services.actions is not None:
            await _services.actions.drain(settings.shutdown_grace_seconds)
        await _services.conversations.drain()
        _services.store.close()
        if _services.redis is not None:
            await _services.redis.aclose()
        _services = None

"""Integration fixtures: a fresh database on the shared real database server per test, the real
services wired over it as `runtime.build` wires them, a fake OpenRouter, and the HTTP routes
driven in-process with streaming responses read as a page reads them."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from chatapp import runtime
from chatapp.api import api
from chatapp.config import ROOT, Settings
from chatapp.models import CUSTOMER, Message, User
from chatapp.services.assistant import Assistant, StopRequests
from chatapp.services.auth import hash_password
from chatapp.services.cache import HistoryCache, RedisVersions
from chatapp.services.conversations import Conversations, Policy
from chatapp.services.events import EventLog, MemoryEventLog, RedisEventLog
from chatapp.services.feed import Feed
from chatapp.services.hours import SupportHours
from chatapp.services.knowledge import KnowledgeBase
from chatapp.services.llm.base import Provider
from chatapp.services.llm.local import LocalResponder
from chatapp.services.llm.openrouter import OpenRouterProvider, make_client
from chatapp.services.presence import MemoryPresence, Presence, RedisPresence
from chatapp.services.prompts import QUESTION_CLOSE, QUESTION_OPEN
from chatapp.services.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from chatapp.services.store import Store, Users
from chatapp.services.threads import Threads
from tests.fakes.fake_openrouter import FakeOpenRouter

KNOWLEDGE = KnowledgeBase.load(ROOT / "knowledge")
QUESTION = "How do I reset my password?"
OFF_TOPIC = "What is the best lasagne recipe?"  # the articles do not cover it: declined
ANSWER = "Reset it from the sign-in page. " * 10  # what the fake model writes (320 characters)
PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose


async def eventually(check: Callable[[], Any], within: float = 5.0, what: str = "the condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy, and return that."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {within} s"
        await asyncio.sleep(0.01)


class Clock:
    """A settable clock for the conversation service (support hours, wait times)."""

    def __init__(self, when: datetime | None = None) -> None:
        when = when or datetime.now(UTC)
        self.now = when.replace(microsecond=when.microsecond // 1000 * 1000)  # as stored: ms

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def person(users: Users, name: str, role: str = CUSTOMER) -> User:
    """A real account; team members sign with their capitalised name ("Alex")."""
    return await users.create(name, f"{name}@example.com", PASSWORD_HASH, role=role,
                              display_name=name.capitalize() if role != CUSTOMER else "")


def new_chat_id() -> str:
    return uuid.uuid4().hex[:16]


# One worker's services, wired by hand ---------------------------------------------------------

@dataclass
class Worker:
    users: Users
    threads: Threads
    cache: HistoryCache
    events: EventLog
    feed: Feed
    assistant: Assistant
    conversations: Conversations
    limiter: RateLimiter
    presence: Presence
    clock: Clock

    async def person(self, name: str, role: str = CUSTOMER) -> User:
        return await person(self.users, name, role)

    async def ask(self, user: User, text: str = QUESTION, chat_id: str | None = None,
                  client_id: str | None = None):
        """Post a customer message: (thread, message, created)."""
        return await self.conversations.post(user, chat_id or new_chat_id(), text,
                                             client_id or uuid.uuid4().hex)

    async def answered(self, question: Message, within: float = 10.0) -> Message:
        return await answered(self, question, within)


async def answered(services: Worker | runtime.Services, question: Message, within: float = 10.0
                   ) -> Message:
    """The stored answer to `question`, once the worker writing it has stored it and told the
    pages (nothing of its turn is still in flight)."""
    async def done():
        if services.assistant.busy(question.chat_id):
            return None
        answer = await services.threads.answer_to(question.owner, question.client_id)
        return answer if answer and answer.status != "writing" else None
    return await eventually(done, within, "the answer")


def wire(store: Store, *, redis: Redis | None = None, provider: Provider | None = None,
         clock: Clock | None = None, hours: str = "", per_minute: int = 20, max_chars: int = 4000,
         presence: Presence | None = None) -> Worker:
    """The services of one worker, as runtime.build wires them (Redis shared when given)."""
    threads = Threads(store.db)
    cache = HistoryCache(threads.messages, 100, 60, versions=RedisVersions(redis) if redis else None)
    events = RedisEventLog(redis) if redis else MemoryEventLog()
    feed = Feed(events, lambda: KNOWLEDGE)
    local = LocalResponder(pause=0)
    assistant = Assistant(threads, cache, feed, lambda: KNOWLEDGE, provider or local, local,
                          StopRequests(redis))
    limiter = RedisRateLimiter(redis) if redis else MemoryRateLimiter()
    presence = presence or (RedisPresence(redis) if redis else MemoryPresence())
    clock = clock or Clock()
    conversations = Conversations(threads, cache, feed, assistant, limiter, store.users,
                                  Policy(max_chars, per_minute), SupportHours(hours, "UTC"),
                                  presence, None, clock=clock)
    return Worker(store.users, threads, cache, events, feed, assistant, conversations, limiter,
                  presence, clock)


@pytest.fixture
async def store(database):
    store = Store(database.uri, f"it_{uuid.uuid4().hex[:8]}", timeout_ms=3000)
    await store.ensure_indexes()
    await Threads(store.db).ensure_indexes()
    yield store
    await store.client.drop_database(store.db.name)
    store.close()


@pytest.fixture
def threads(store):
    return Threads(store.db)


@pytest.fixture
async def workers(store):
    """Makes workers on the test's database; at the end, each lets its answers finish."""
    made: list[Worker] = []

    def make(**options) -> Worker:
        made.append(wire(store, **options))
        return made[-1]

    yield make
    for worker in made:
        await worker.assistant.drain(5)
        await worker.conversations.drain()


@pytest.fixture
def worker(workers) -> Worker:
    return workers()


@pytest.fixture
async def redis(redis_server):
    client = Redis.from_url(redis_server.url)
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def fake():
    """A fake OpenRouter of the test's own, writing ANSWER in 40 chunks."""
    with FakeOpenRouter(text=ANSWER, chunk_size=8, delay=0.002) as server:
        yield server


@pytest.fixture
async def model(fake):
    """Makes OpenRouter providers pointed at the fake."""
    clients: list[httpx.AsyncClient] = []

    def make(models: tuple[str, ...] = ("model/a", "model/b"), budget: float = 5.0,
             read_timeout: float = 1.0) -> OpenRouterProvider:
        clients.append(make_client(read_timeout=read_timeout))
        return OpenRouterProvider(api_key="test-key", base_url=fake.base_url, models=models,
                                  client=clients[-1], read_timeout=read_timeout, total_budget=budget,
                                  max_retry_after=0.2)

    yield make
    for browser_client in clients:
        await browser_client.aclose()


# The HTTP routes ------------------------------------------------------------------------------

class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Like httpx.ASGITransport, which collects the whole body before it answers (so an endless
    event stream would never return), but hands the body over as the app sends it, and tells
    the app the client went away when the response is closed, as a server does."""

    def __init__(self, app) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = b"".join([part async for part in request.stream])
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": request.method, "headers": [(k.lower(), v) for k, v in request.headers.raw],
                 "scheme": request.url.scheme, "path": request.url.path,
                 "raw_path": request.url.raw_path.split(b"?")[0], "query_string": request.url.query,
                 "server": (request.url.host, request.url.port), "client": ("127.0.0.1", 50000),
                 "root_path": ""}
        started, gone = asyncio.Event(), asyncio.Event()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        head: dict[str, Any] = {}
        unread = [body]

        async def receive() -> dict[str, Any]:
            if unread:
                return {"type": "http.request", "body": unread.pop(), "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                head.update(message)
                started.set()
            elif message["type"] == "http.response.body":
                chunks.put_nowait(message.get("body", b""))
                if not message.get("more_body"):
                    chunks.put_nowait(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            finally:
                started.set()
                chunks.put_nowait(None)

        task = asyncio.create_task(run())
        await started.wait()
        if not head:
            await task  # raises what the app raised
        return httpx.Response(head["status"], headers=head.get("headers", []),
                              stream=_Body(chunks, gone, task))


class _Body(httpx.AsyncByteStream):
    def __init__(self, chunks: asyncio.Queue, gone: asyncio.Event, task: asyncio.Task) -> None:
        self.chunks, self.gone, self.task = chunks, gone, task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self.chunks.get()) is not None:
            yield chunk
        await self.task  # an error in the app after the response started fails the test

    async def aclose(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, 5)  # the app has ended the stream and freed its slot


class EventStream:
    """An open event stream, read as EventSource reads it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.last_id = ""
        self._lines = response.aiter_lines()

    async def next(self, within: float = 5.0) -> dict[str, Any]:
        """The next event's data (comments and the retry line are skipped)."""
        event_id, data = "", None
        async with asyncio.timeout(within):
            async for line in self._lines:
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                elif not line and data is not None:
                    self.last_id = event_id
                    return data
        raise AssertionError("the stream ended")

    async def until(self, done: Callable[[dict[str, Any]], bool], within: float = 10.0
                    ) -> list[dict[str, Any]]:
        """Events up to and including the first one `done` accepts."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while not events or not done(events[-1]):
            events.append(await self.next(max(0.01, deadline - time.monotonic())))
        return events

    async def ended(self, within: float) -> bool:
        """Whether the server ends the stream within `within` seconds (sending no more events)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                async for line in self._lines:
                    assert not line.startswith("data: "), f"an event came instead: {line}"
                return True
        return False


class Page:
    """A conversation as the page shows it, applying events the way conversation.jsx does: a
    message replaces the one with its id; a delta {id, at, text} adds only text beyond what the
    answer already shows."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.conversation: dict[str, Any] | None = None

    def apply(self, *events: dict[str, Any]) -> Page:
        for event in events:
            if event["type"] == "snapshot":
                self.messages, self.conversation = list(event["messages"]), event["conversation"]
            elif event["type"] == "message":
                self._upsert(event["message"])
            elif event["type"] == "conversation":
                self.conversation = event["conversation"]
            elif event["type"] == "delta":
                row = next((m for m in self.messages if m["id"] == event["id"]), None) or {
                    "id": event["id"], "role": "assistant", "content": "", "status": "writing"}
                if row["status"] == "writing" and event["at"] <= len(row["content"]) \
                        < event["at"] + len(event["text"]):
                    self._upsert({**row, "content": row["content"][:event["at"]] + event["text"]})
        return self

    def _upsert(self, row: dict[str, Any]) -> None:
        at = next((i for i, m in enumerate(self.messages) if m["id"] == row["id"]), None)
        if at is None:
            self.messages.append(row)
        else:
            self.messages[at] = row

    def answer(self) -> dict[str, Any]:
        return [m for m in self.messages if m["role"] == "assistant"][-1]


def finished(event: dict[str, Any]) -> bool:
    """The event that stores an answer as it ends (complete, stopped or failed)."""
    return event["type"] == "message" and event["message"]["role"] == "assistant" \
        and event["message"]["status"] != "writing"


def deltas(count: int) -> Callable[[dict[str, Any]], bool]:
    """Accepts the `count`-th delta event it is shown."""
    seen = [0]

    def done(event: dict[str, Any]) -> bool:
        seen[0] += event["type"] == "delta"
        return seen[0] >= count
    return done


def client(cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A client of chatapp.api.api, in this process, reading responses as they are sent."""
    return httpx.AsyncClient(transport=StreamingASGITransport(api), base_url="http://test",
                             cookies=cookies)


def events_path(chat_id: str) -> str:
    return f"/api/conversations/{chat_id}/events"


@dataclass
class Browser:
    """A signed-in user's browser (the session cookie) on one worker's services."""

    services: runtime.Services
    user: User
    token: str
    client: httpx.AsyncClient

    async def say(self, chat_id: str, text: str = QUESTION) -> Message:
        """Send a message as the chat page does (ChatState.send calls the service)."""
        _, message, _ = await self.services.conversations.post(self.user, chat_id, text,
                                                               uuid.uuid4().hex)
        return message

    async def open(self, path: str, **options) -> httpx.Response:
        """A streaming GET; the caller closes it."""
        return await self.client.send(self.client.build_request("GET", path, **options), stream=True)

    @contextlib.asynccontextmanager
    async def stream(self, path: str, **options) -> AsyncIterator[EventStream]:
        response = await self.open(path, **options)
        try:
            assert response.status_code == 200, (path, options, response.status_code)
            yield EventStream(response)
        finally:
            await response.aclose()

    def events(self, chat_id: str, **options) -> contextlib.AbstractAsyncContextManager[EventStream]:
        return self.stream(events_path(chat_id), **options)


@pytest.fixture
async def apps(database, store, fake, monkeypatch):
    """Makes whole processes' services with runtime.build over the test's database (answers by
    the fake OpenRouter); the last one made serves the routes (runtime._services)."""
    built: list[runtime.Services] = []

    def build(**env: str) -> runtime.Services:
        settings = Settings.from_env({
            "MONGODB_URI": database.uri, "MONGODB_DB": store.db.name, "JWT_SECRET": "k" * 48,
            "SIGNUPS_PER_HOUR": "1000", "OPEN_ROUTER": "test-key", "OPENROUTER_BASE_URL": fake.base_url,
            "OPENROUTER_MODELS": "model/a", "LLM_TOTAL_TIMEOUT": "5", **env})
        built.append(runtime.build(settings))
        built[-1].knowledge.serve_folder()  # the seed folder's articles, as the lifespan's load gives
        serve(built[-1])
        return built[-1]

    def serve(services: runtime.Services) -> None:
        monkeypatch.setattr(runtime, "_services", services)

    build.serve = serve
    yield build
    for services in built:
        await services.assistant.drain(5)
        await services.conversations.drain()
        services.store.close()
        if services.redis is not None:
            await services.redis.aclose()


@pytest.fixture
def app(apps) -> runtime.Services:
    return apps()


@pytest.fixture
async def sign_in():
    """Makes signed-in browsers: a customer signs up, a team member logs in (both through
    services().accounts, as the /api/auth routes do)."""
    clients: list[httpx.AsyncClient] = []

    async def make(services: runtime.Services, name: str, role: str = CUSTOMER) -> Browser:
        if role == CUSTOMER:
            user, token = await services.accounts.sign_up(name, f"{name}@example.com", PASSWORD, name)
        else:
            await person(services.store.users, name, role)
            user, token = await services.accounts.log_in(name, PASSWORD, name)
        clients.append(client({services.settings.cookie_name: token}))
        return Browser(services, user, token, clients[-1])

    yield make
    for browser_client in clients:
        await browser_client.aclose()



def asked(content: str) -> str:
    """The customer's question in the model's last user message (after the passages)."""
    return content.split(QUESTION_OPEN + "\n", 1)[1].removesuffix("\n" + QUESTION_CLOSE)

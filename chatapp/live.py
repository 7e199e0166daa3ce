"""The one route to the page: each conversation's events, and the team's, as server-sent events.

GET /api/conversations/<id>/events: a snapshot of the conversation (its messages and state),
then every event as it happens: messages added or changed, text appended to the answer being
written, the state changed. The customer's tabs and the agents' inbox read the same events,
whichever worker they reach. Event ids are positions in the conversation's stream, so a browser
that reconnects (EventSource sends `Last-Event-ID`) resumes exactly where it stopped; one that
was away too long gets a fresh snapshot. A conversation the page has only just named (a new
chat, before its first message) is waited for, and shown once it exists and is the viewer's.

GET /api/inbox/events: the team's queue (agents only), the same way.

The session is checked again at least every second while a stream is open, so a log-out or a
deactivated agent ends it; one user may hold at most MAX_STREAMS_PER_USER streams at once.
Everything is gzip-compressed as it goes, flushed after every event.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from chatapp import cookies
from chatapp.models import User
from chatapp.runtime import Services, services
from chatapp.services.conversations import ThreadNotFound
from chatapp.services.events import TEAM
from chatapp.services.feed import conversation_row, queue_row
from chatapp.services.presence import AWAY, ONLINE
from chatapp.services.store import StoreUnavailable
from chatapp.services.threads import WRITING, WRITING_LEASE

CHAT_ID = re.compile(r"^[0-9a-f]{16}$")
EVENT_ID = re.compile(r"^[0-9a-z]{1,24}-[0-9]{1,20}$|^0$")
WAIT_SECONDS = 15.0  # a comment line at least this often keeps proxies from closing the stream
RECHECK_SECONDS = 1.0  # also the longest a read waits, so the session is re-checked this often
SLOT_SECONDS = 60.0  # a stream's slot outlives a dead worker by at most this long
NO_STORE = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
TEAM_ONLY = {"summary"}


def _sse(event_id: str, data: Any) -> str:
    return f"id: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _gzip(events: AsyncIterator[str]) -> AsyncIterator[bytes]:
    """One gzip stream, flushed after every event so each arrives (and shows) at once."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    async for event in events:
        yield compressor.compress(event.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
    yield compressor.flush()


def _respond(request: Request, events: AsyncIterator[str]) -> Response:
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return StreamingResponse(events, media_type="text/event-stream", headers=NO_STORE)
    return StreamingResponse(_gzip(events), media_type="text/event-stream",
                             headers={**NO_STORE, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


def _resume_from(request: Request) -> str | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or ""
    return raw if EVENT_ID.fullmatch(raw) else None


def _refused(status: int, text: str, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return Response(text, status_code=status, headers=headers, media_type="text/plain")


async def viewer(request: Request) -> User | Response:
    """The session's user, or the response that refuses the request."""
    app = services()
    try:
        user = await app.accounts.authenticate(cookies.session_token(app.settings, request.cookies))
    except StoreUnavailable:
        return _refused(503, "The service is having trouble; try again shortly.", 5)
    return user or _refused(401, "Log in to follow this conversation.")


class _Watch:
    """One open stream: its slot among the user's, and the session it re-checks."""

    def __init__(self, app: Services, request: Request, user: User, slot: str) -> None:
        self.app, self.request, self.user, self.slot = app, request, user, slot
        self.checked = self.renewed = self.spoke = time.monotonic()

    def idle(self) -> bool:
        """Time for a comment line (at most every WAIT_SECONDS), so proxies keep the stream."""
        now = time.monotonic()
        if now - self.spoke < WAIT_SECONDS:
            return False
        self.spoke = now
        return True

    async def still_allowed(self, allowed: Callable[[User], Awaitable[bool]]) -> bool:
        """Re-check the session (at most every second): logged out, deactivated or no longer
        allowed ends the stream; the slot is renewed on the way."""
        now = time.monotonic()
        if now - self.checked < RECHECK_SECONDS:
            return True
        self.checked = now
        if await self.request.is_disconnected():
            return False
        try:
            user = await self.app.accounts.authenticate(
                cookies.session_token(self.app.settings, self.request.cookies))
        except StoreUnavailable:
            return True  # the database is away: what was allowed a second ago still is
        if user is None or user.id != self.user.id or not await allowed(user):
            return False
        self.user = user
        if now - self.renewed > SLOT_SECONDS / 3:
            await self.app.limiter.forget(_slots(user), self.slot)
            self.slot, _ = await self.app.limiter.hit(_slots(user), 10**6, SLOT_SECONDS)
            self.renewed = now
        return True

    async def release(self) -> None:
        """Free the slot, also when the client left: the stream's task is being cancelled then,
        and an unshielded await (Redis) would be cancelled too, holding the slot SLOT_SECONDS."""
        with anyio.CancelScope(shield=True):
            await self.app.limiter.forget(_slots(self.user), self.slot)


def _slots(user: User) -> str:
    return f"streams:{user.id}"


async def _watch(request: Request, user: User) -> _Watch | Response:
    app = services()
    slot, wait = await app.limiter.hit(_slots(user), app.settings.max_streams_per_user, SLOT_SECONDS)
    if not slot:
        return _refused(429, "Too many open conversations; close a tab and try again.",
                        max(1, round(wait)))
    return _Watch(app, request, user, slot)


async def conversation_events(request: Request) -> Response:
    user = await viewer(request)
    if isinstance(user, Response):
        return user
    chat_id = request.path_params["chat_id"]
    if not CHAT_ID.fullmatch(chat_id):
        return _refused(404, "Conversation not found.")
    watch = await _watch(request, user)
    if isinstance(watch, Response):
        return watch
    return _respond(request, _conversation(watch, chat_id, _resume_from(request)))


async def _conversation(watch: _Watch, chat_id: str, after: str | None) -> AsyncIterator[str]:
    app = watch.app
    log = app.events

    async def allowed(user: User) -> bool:
        try:
            await app.conversations.visible(user, chat_id)
        except ThreadNotFound:
            return False
        return True

    try:
        yield "retry: 1000\n\n"
        cursor = await log.head(chat_id)
        while not await allowed(watch.user):  # a new chat, named before its first message
            if not await watch.still_allowed(_anyone):
                return
            events = await log.read(chat_id, cursor, RECHECK_SECONDS)
            if events:
                cursor = events[-1][0]
            elif events is None:  # the stream expired meanwhile: wait from its new head
                cursor = await log.head(chat_id)
            elif watch.idle():
                yield ": waiting\n\n"
        writers = _Writers()
        if after is None or await log.read(chat_id, after, 0) is None:
            after, snapshot = await _snapshot(app, watch.user, chat_id)
            writers.saw(snapshot["messages"])
            yield _sse(after, snapshot)
        while True:
            events = await log.read(chat_id, after, RECHECK_SECONDS)
            if events is None:  # away too long: start again from the record
                after, snapshot = await _snapshot(app, watch.user, chat_id)
                writers.saw(snapshot["messages"])
                yield _sse(after, snapshot)
                continue
            if not events and watch.idle():
                yield ": still here\n\n"
            for event_id, event in events:
                after = event_id
                if event["type"] in TEAM_ONLY and not watch.user.on_team:
                    continue
                writers.heard(event)
                yield _sse(event_id, event)
                if event["type"] == "removed":
                    return
            for row in await writers.gone(app, chat_id):  # their writer died: show what it kept
                yield _sse(after, {"type": "message", "message": row})
            # After the batch, not before it: the once-a-second session check (database reads)
            # never holds back text that has just arrived, and still ends the stream within it.
            if not await watch.still_allowed(allowed):
                return
    except ThreadNotFound:
        return
    finally:
        await watch.release()


async def _anyone(_: User) -> bool:
    return True


class _Writers:
    """The answers being written in the conversation, and when each was last heard from. One
    quiet for longer than its writer's lease is read again: if its writer died (a crash, a
    kill), the record now says so, and the page is told, since no event ever will."""

    def __init__(self) -> None:
        self._heard: dict[str, float] = {}

    def saw(self, rows: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        self._heard = {row["id"]: now for row in rows if row["status"] == WRITING}

    def heard(self, event: dict[str, Any]) -> None:
        if event["type"] == "delta":
            self._heard[event["id"]] = time.monotonic()
        elif event["type"] == "message":
            row = event["message"]
            if row["status"] == WRITING:
                self._heard[row["id"]] = time.monotonic()
            else:
                self._heard.pop(row["id"], None)

    async def gone(self, app: Services, chat_id: str) -> list[dict[str, Any]]:
        now, rows = time.monotonic(), []
        for message_id, heard in list(self._heard.items()):
            if now - heard < WRITING_LEASE.total_seconds() + RECHECK_SECONDS:
                continue
            thread = await app.threads.get_any(chat_id)
            message = await app.threads.message(thread.owner, message_id) if thread else None
            if message is None or message.status != WRITING:
                self._heard.pop(message_id)
                if message is not None:
                    rows += app.feed.rows([message])
            else:
                self._heard[message_id] = now  # still renewing its lease: alive
        return rows


async def _snapshot(app: Services, user: User, chat_id: str) -> tuple[str, dict[str, Any]]:
    """The conversation as it is, and the event to read after. An answer being written is read
    fresh from the database (its kept text), and its growth replayed from the event that
    announced it: events are idempotent, so replaying a little too much shows nothing twice."""
    head = await app.events.head(chat_id)
    thread = await app.conversations.visible(user, chat_id)
    messages = await app.conversations.history(thread)
    if any(m.status == WRITING for m in messages):
        messages = await app.threads.messages(thread.owner, thread.id)
        writing = [m.stream_from for m in messages if m.status == WRITING]
        if writing:
            head = min(writing, key=_order) if all(writing) else "0"
    snapshot: dict[str, Any] = {"type": "snapshot", "conversation": conversation_row(thread),
                                "messages": app.feed.rows(messages)}
    if user.on_team:
        snapshot["summary"] = thread.summary
    return head, snapshot


def _order(event_id: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in event_id.split("-"))


async def inbox_events(request: Request) -> Response:
    user = await viewer(request)
    if isinstance(user, Response):
        return user
    if not user.on_team:
        return _refused(403, "Only the support team can open the inbox.")
    watch = await _watch(request, user)
    if isinstance(watch, Response):
        return watch
    status = AWAY if request.query_params.get("away") == "1" else ONLINE
    return _respond(request, _inbox(watch, _resume_from(request), status))


async def _inbox(watch: _Watch, after: str | None, status: str) -> AsyncIterator[str]:
    """The queue's rows, then each change to them; the team's presence, which this stream
    keeps marked for its agent (online, or away while the page is hidden)."""
    app = watch.app

    async def on_team(user: User) -> bool:
        return user.on_team

    try:
        yield "retry: 1000\n\n"
        previous = (await app.presence.statuses()).get(watch.user.id)
        await app.presence.mark(watch.user.id, status)
        marked = time.monotonic()
        if previous != status:
            await app.events.append(TEAM, {"type": "presence"})
        while True:
            if time.monotonic() - marked > WAIT_SECONDS:
                await app.presence.mark(watch.user.id, status)
                marked = time.monotonic()
            events = await app.events.read(TEAM, after, RECHECK_SECONDS) if after else None
            if events is None:
                after = await app.events.head(TEAM)
                rows = [queue_row(thread) for thread in await app.conversations.queue(watch.user)]
                yield _sse(after, {"type": "snapshot", "rows": rows, "team": await _team(app)})
                continue
            if not await watch.still_allowed(on_team):
                return
            if not events and watch.idle():
                yield ": still here\n\n"
            for event_id, event in events:
                after = event_id
                if event["type"] == "presence":
                    event = {"type": "team", "team": await _team(app)}
                yield _sse(event_id, event)
    finally:
        await watch.release()


async def _team(app: Services) -> list[dict[str, str]]:
    statuses = await app.presence.statuses()
    return [{"id": member.id, "name": member.name, "role": member.role,
             "presence": statuses.get(member.id, "offline")}
            for member in await app.store.users.team() if member.active]

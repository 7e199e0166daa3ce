"""Running actions for the assistant, and the customer's buttons on their cards.

`Actions.handle` is what the assistant calls for each tool call of an answer (the model's, or the
built-in responder's offer). It never raises (but for cancellation): whatever goes wrong becomes
a card with a plain sentence, and a result the model can read, so an action can never break an
answer. In order:

1. at most `max_per_answer` calls per answer, and only actions this customer may use;
2. the model's arguments are checked against the action's schema; missing or wrong ones make a
   *proposed* card with a form (the customer fills it in: `submit`), never a guess;
3. an action declared `confirm=True` makes a *proposed* card and waits for `confirm` / `cancel`;
4. otherwise, within the customer's rate limit, it runs, with a timeout, given the verified
   customer (never an id from the model's arguments); a card shows it *running* if it takes
   longer than `running_after`, then *done* with its result, or *failed* with a plain sentence.

`confirm`, `cancel` and `submit` are the page's buttons. Each checks that the customer owns the
card's conversation, and moves the card atomically, so a double click runs an action once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from chatapp.actions.calls import Calls, ms
from chatapp.actions.registry import Action, ActionError, Context, Registry, run_with_timeout
from chatapp.actions.registry import registry as shipped
from chatapp.models import CANCELLED, DONE, FAILED, PROPOSED, RUNNING, Message, User
from chatapp.services.cache import HistoryCache
from chatapp.services.feed import Feed
from chatapp.services.llm.base import Tool, ToolCall, ToolResult
from chatapp.services.ratelimit import RateLimiter, take, wait_phrase
from chatapp.services.store import Users
from chatapp.services.threads import Threads

log = logging.getLogger(__name__)
GONE = "That action is not available any more."
EXPIRED = "This request has expired. Ask again if you still need it."
STOPPED = "Stopped before it finished."
TOO_MANY = "This answer has already used its actions."
BROKEN = "The action could not be completed. Please try again later."


class CallNotFound(Exception):
    """No such card in a conversation of this customer; `str(error)` is a sentence to show."""


@dataclass(frozen=True)
class Outcome:
    status: str  # DONE or FAILED
    data: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    error: str = ""
    duration_ms: int = 0


class Actions:
    def __init__(self, db: AsyncIOMotorDatabase, threads: Threads, users: Users, cache: HistoryCache,
                 feed: Feed, limiter: RateLimiter, registry: Registry | None = None, *,
                 timeout: float = 5.0, per_minute: int = 10, max_per_answer: int = 3,
                 running_after: float = 0.2, proposal_ttl: float = 3600,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.threads = threads
        self.users = users
        self.cache = cache
        self.feed = feed
        self.limiter = limiter
        self.registry = registry if registry is not None else shipped  # the app's actions
        self.calls = Calls(db)
        self.timeout = timeout
        self.per_minute = per_minute
        self.max_per_answer = max_per_answer
        self.running_after = running_after
        self.proposal_ttl = proposal_ttl
        self.clock = clock
        self._jobs: set[asyncio.Task[Message]] = set()

    # For the assistant -------------------------------------------------------------------------

    async def customer(self, owner_id: str) -> User | None:
        """The verified customer an answer is written for: the owner of the stored question."""
        return await self.users.get(owner_id)

    def tools(self, customer: User | None) -> tuple[Tool, ...]:
        """The actions offered to the model for this customer's answer."""
        if customer is None or self.max_per_answer <= 0:
            return ()
        return tuple(declared.tool() for declared in self.registry.for_customer(customer))

    async def handle(self, customer: User, answer: Message, call: ToolCall, index: int,
                     offset: int = 0) -> ToolResult:
        """One tool call of `answer` (its `index`-th, from 0), made `offset` characters into its
        text: proposed, run or refused, shown as a card; what the model reads back."""
        try:
            return await self._handle(customer, answer, call, index, offset)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("action call failed", extra={"chat_id": answer.chat_id, "action": call.name})
            return _told(call, FAILED, error=BROKEN)

    async def _handle(self, customer: User, answer: Message, call: ToolCall, index: int,
                      offset: int) -> ToolResult:
        declared = self.registry.get(call.name)
        if index >= self.max_per_answer:
            return _told(call, FAILED, error=TOO_MANY)
        if declared is None or not declared.allowed(customer) or customer.id != answer.owner:
            log.warning("the model called an unknown action", extra={"action": call.name[:64]})
            return _told(call, FAILED, error=f"There is no action named {call.name[:64]!r}.")
        given = _arguments(call.arguments)
        values, problems = declared.validate(given)
        card = {"name": declared.name, "title": declared.title, "button": declared.button,
                "confirm": declared.confirm, "answer_id": answer.id, "offset": offset,
                "call_id": call.id, "arguments": values if values is not None else _known(declared, given),
                "result": {}, "summary": "", "fields": [], "duration_ms": None,
                "started_at": None, "finished_at": None, "expires_at": None}
        if values is None or declared.confirm:
            shown = {k: v for k, v in problems.items() if k in given}  # a missing field is no mistake
            if values is None:
                card["fields"] = declared.fields(card["arguments"], shown)
            card["expires_at"] = ms(self.clock()) + int(self.proposal_ttl * 1000)
            stored = await self.calls.add(answer.owner, answer.chat_id, status=PROPOSED,
                                          content=f"{declared.title}: waiting for the customer",
                                          action=card, error=next(iter(shown.values()), ""))
            await self._show(stored)
            if values is None:
                missing = [name for name in problems]
                labels = " and ".join(declared.labels.get(n, n).lower() for n in missing)
                return ToolResult(call, _json({
                    "status": "needs_input", "missing": missing, "problems": shown,
                    "note": "The customer now sees a form for these fields above what you write next. "
                            "Ask them to fill it in; never guess the values."}), PROPOSED,
                    f"Enter the {labels} above and press \u201c{declared.button}\u201d.")
            return ToolResult(call, _json({
                "status": "awaiting_confirmation", "arguments": values,
                "note": "The customer now sees Confirm and Cancel buttons above what you write next; it "
                        "happens only if they press Confirm. Say so; do not say it is done."}),
                PROPOSED, f"Press \u201cConfirm\u201d above to go ahead ({declared.title.lower()}), "
                          "or \u201cCancel\u201d.")
        wait = await take(self.limiter, f"action:{customer.id}", self.per_minute, 60)
        if wait:
            error = self._limit_sentence(wait)
            stored = await self.calls.add(answer.owner, answer.chat_id, status=FAILED,
                                          content=f"{declared.title}: {error}", action=card, error=error)
            await self._show(stored)
            return _told(call, FAILED, error=error)
        context = Context(customer, self.db, answer.chat_id)
        started = self.clock()
        task = asyncio.create_task(self._execute(declared, values, context))
        running: Message | None = None
        try:
            done, _ = await asyncio.wait({task}, timeout=self.running_after)
            if not done:  # slow: show it running until it ends
                card["started_at"] = ms(started)
                running = await self.calls.add(answer.owner, answer.chat_id, status=RUNNING,
                                               content=f"{declared.title}: running", action=card,
                                               when=started)
                await self._show(running)
            outcome = await task
        except asyncio.CancelledError:  # the answer was stopped, or the server is shutting down
            task.cancel()
            outcome = Outcome(FAILED, error=STOPPED,
                              duration_ms=round((self.clock() - started).total_seconds() * 1000))
            try:
                await self._finish(running, answer, card, outcome, started)
            except Exception:  # noqa: BLE001 - best effort while stopping
                log.warning("stopped action not stored", extra={"chat_id": answer.chat_id})
            raise
        await self._finish(running, answer, card, outcome, started)
        if outcome.status == DONE:
            return ToolResult(call, _json({"status": "done", "result": dict(outcome.data),
                                           "summary": outcome.summary}), DONE, outcome.summary)
        return _told(call, FAILED, error=outcome.error)

    async def _finish(self, running: Message | None, answer: Message, card: dict[str, Any],
                      outcome: Outcome, started: datetime) -> Message | None:
        changes = {"result": dict(outcome.data), "summary": outcome.summary,
                   "duration_ms": outcome.duration_ms, "started_at": ms(started),
                   "finished_at": ms(self.clock())}
        content = f"{card['title']}: {outcome.summary or outcome.error}"
        if running is None:
            stored = await self.calls.add(answer.owner, answer.chat_id, status=outcome.status,
                                          content=content, action={**card, **changes},
                                          error=outcome.error, when=started)
            await self._show(stored)
            return stored
        stored = await self.calls.update(running.owner, running.id, status=outcome.status,
                                         content=content, error=outcome.error, action=changes)
        if stored is not None:
            await self._show(stored)
        return stored

    async def _execute(self, declared: Action, values: Mapping[str, Any], context: Context) -> Outcome:
        """Run the action; every way it can end, as an outcome (a plain sentence when it failed)."""
        started = time.perf_counter()
        try:
            result, elapsed = await run_with_timeout(declared, values, context, self.timeout)
        except ActionError as error:
            return Outcome(FAILED, error=str(error) or f"{declared.title} did not work.",
                           duration_ms=_since(started))
        except TimeoutError:
            log.warning("action timed out", extra={"action": declared.name, "chat_id": context.chat_id})
            return Outcome(FAILED, error=f"{declared.title} took too long to answer. Please try again "
                                         "in a moment.", duration_ms=_since(started))
        except Exception:
            log.exception("action raised", extra={"action": declared.name, "chat_id": context.chat_id})
            return Outcome(FAILED, error=f"{declared.title} is not available right now. Please try "
                                         "again later.", duration_ms=_since(started))
        return Outcome(DONE, result.data, result.summary or f"{declared.title}: done.",
                       duration_ms=elapsed)

    # The customer's buttons --------------------------------------------------------------------

    async def confirm(self, customer: User, message_id: str) -> Message:
        """"Confirm" on a proposed card: the action runs now, once (a second press, or one on
        a card already done or cancelled, changes nothing). The card after."""
        card = await self._owned(customer, message_id)
        if card.status != PROPOSED or not card.action or card.action.get("fields"):
            return card  # a form is sent with `submit`
        return await self._go(customer, card, dict(card.action.get("arguments") or {}))

    async def submit(self, customer: User, message_id: str, fields: Mapping[str, Any]) -> Message:
        """The proposed card's form sent (its button pressed): with what the customer typed, the
        action runs (that press is their go-ahead); a field still wrong stays on the card, marked
        with a sentence, and nothing runs. The card after."""
        card = await self._owned(customer, message_id)
        if card.status != PROPOSED or not card.action:
            return card
        declared = self.registry.get(card.action["name"])
        if declared is None:
            return await self._fail(card, GONE)
        names = set(declared.schema.get("properties", {}))
        typed = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items() if k in names}
        merged = {**(card.action.get("arguments") or {}), **typed}
        merged = {k: v for k, v in merged.items() if v not in ("", None)}
        values, problems = declared.validate(merged)
        if values is None:
            known = _known(declared, merged)
            updated = await self.calls.update(
                card.owner, card.id, status=PROPOSED, content=card.content,
                error=next(iter(problems.values())), only_from=(PROPOSED,),
                action={"arguments": known, "fields": declared.fields(known, problems)})
            if updated is None:
                return await self._owned(customer, message_id)
            await self._show(updated)
            return updated
        return await self._go(customer, card, values)

    async def cancel(self, customer: User, message_id: str) -> Message:
        """"Cancel" on a proposed card: it stays undone, for good. The card after."""
        card = await self._owned(customer, message_id)
        if card.status != PROPOSED or not card.action:
            return card
        updated = await self.calls.update(card.owner, card.id, status=CANCELLED,
                                          content=f"{card.action['title']}: cancelled", error="",
                                          action={"finished_at": ms(self.clock())}, only_from=(PROPOSED,))
        if updated is None:
            return await self._owned(customer, message_id)
        await self._show(updated)
        return updated

    async def _go(self, customer: User, card: Message, values: dict[str, Any]) -> Message:
        action = card.action or {}
        declared = self.registry.get(action.get("name", ""))
        if declared is None or not declared.allowed(customer):
            return await self._fail(card, GONE)
        if (action.get("expires_at") or 0) and action["expires_at"] < ms(self.clock()):
            return await self._fail(card, EXPIRED)
        checked, problems = declared.validate(values)
        if checked is None:
            return await self._fail(card, next(iter(problems.values())))
        wait = await take(self.limiter, f"action:{customer.id}", self.per_minute, 60)
        if wait:  # stays proposed: the customer can press again later
            updated = await self.calls.update(card.owner, card.id, status=PROPOSED, content=card.content,
                                              error=self._limit_sentence(wait), action={},
                                              only_from=(PROPOSED,))
            if updated is not None:
                await self._show(updated)
            return updated or await self._owned(customer, card.id)
        started = self.clock()
        claimed = await self.calls.update(
            card.owner, card.id, status=RUNNING, content=f"{declared.title}: running", error="",
            action={"arguments": checked, "fields": [], "started_at": ms(started)}, only_from=(PROPOSED,))
        if claimed is None:  # another press got there first
            return await self._owned(customer, card.id)
        # The run is the server's from here: a page that goes away does not leave it "running".
        job = asyncio.create_task(self._run_claimed(declared, checked, customer, claimed))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        return await asyncio.shield(job)

    async def _run_claimed(self, declared: Action, values: dict[str, Any], customer: User,
                           claimed: Message) -> Message:
        context = Context(customer, self.db, claimed.chat_id)
        task = asyncio.create_task(self._execute(declared, values, context))
        done, _ = await asyncio.wait({task}, timeout=self.running_after)
        if not done:
            await self._show(claimed)
        outcome = await task
        stored = await self.calls.update(
            claimed.owner, claimed.id, status=outcome.status,
            content=f"{declared.title}: {outcome.summary or outcome.error}", error=outcome.error,
            action={"result": dict(outcome.data), "summary": outcome.summary,
                    "duration_ms": outcome.duration_ms, "finished_at": ms(self.clock())})
        if stored is None:
            return claimed
        await self._show(stored)
        return stored

    async def drain(self, grace: float = 10) -> None:
        """On shutdown: let confirmed actions still running finish (each is bounded by its timeout)."""
        if self._jobs:
            await asyncio.wait(set(self._jobs), timeout=grace)

    async def _fail(self, card: Message, error: str) -> Message:
        title = (card.action or {}).get("title", "Action")
        updated = await self.calls.update(card.owner, card.id, status=FAILED, content=f"{title}: {error}",
                                          error=error, action={"finished_at": ms(self.clock())},
                                          only_from=(PROPOSED,))
        if updated is None:
            return await self.calls.get(card.owner, card.id) or card
        await self._show(updated)
        return updated

    async def _owned(self, customer: User, message_id: str) -> Message:
        card = await self.calls.get(customer.id, message_id)
        if card is None or await self.threads.get(customer.id, card.chat_id) is None:
            raise CallNotFound(GONE)
        return card

    async def _show(self, card: Message) -> None:
        """Tell the conversation's pages (and keep the history cache right)."""
        await self.cache.append(card)
        await self.feed.message(card)

    def _limit_sentence(self, wait: float) -> str:
        return (f"You've reached the limit of {self.per_minute} actions a minute. Please try "
                f"again {wait_phrase(wait)}.")

    # For insights ------------------------------------------------------------------------------

    async def stats(self, since: datetime, until: datetime | None = None) -> list[dict[str, Any]]:
        """Per action, of the calls made from `since` (until `until`), most used first: calls,
        how many ended each way (done, failed, cancelled; proposed and running: not yet), and the
        actions' own durations (avg_ms, p95_ms; None when none ran)."""
        per: dict[str, dict[str, Any]] = {}
        for doc in await self.calls.between(since, until):
            name = (doc.get("action") or {}).get("name", "")
            row = per.setdefault(name, {"name": name, "calls": 0, DONE: 0, FAILED: 0, CANCELLED: 0,
                                        PROPOSED: 0, RUNNING: 0, "durations": []})
            row["calls"] += 1
            row[doc["status"]] = row.get(doc["status"], 0) + 1
            duration = (doc.get("action") or {}).get("duration_ms")
            if isinstance(duration, int | float):
                row["durations"].append(duration)
        out = []
        for row in sorted(per.values(), key=lambda r: -r["calls"]):
            durations = sorted(row.pop("durations"))
            declared = self.registry.get(row["name"])
            row["title"] = declared.title if declared else row["name"]
            row["avg_ms"] = round(sum(durations) / len(durations)) if durations else None
            row["p95_ms"] = durations[min(len(durations) - 1, round(0.95 * (len(durations) - 1)))] \
                if durations else None
            out.append(row)
        return out


def _arguments(text: str) -> dict[str, Any]:
    """The model's arguments (JSON text) as a dict; anything else counts as none given."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _known(declared: Action, given: Mapping[str, Any]) -> dict[str, Any]:
    """What of the given arguments belongs to the action's schema (kept to prefill its form)."""
    names = declared.schema.get("properties", {})
    return {k: v for k, v in given.items() if k in names and isinstance(v, str | int | float | bool)}


def _told(call: ToolCall, status: str, *, error: str) -> ToolResult:
    return ToolResult(call, _json({"status": status, "error": error}), status, error)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

"""Actions: what one tool call adds to an answer beyond the action's own duration, and the bytes
its card sends to the page.

One worker's real services over the real database server (nx-27017, as the tests run it), wired
as `runtime.build` wires them with actions (memory event log), and the shipped `order_status`
action (a MongoDB read of the customer's demo order) timed from inside. Each answer is one
question whose answer calls the action once and then goes on:

- `scripted`: an in-process provider that yields the tool call at once and, asked again, its
  first word at once, so all that is measured is the framework: showing the text so far, the
  customer, the schema check, the rate limit, the card's write and event, the result back to
  the provider, the next round.
- `openrouter`: the real OpenRouterProvider against the fake OpenRouter on loopback (the
  streamed `tool_calls` fragments, then the continuation request with the `role: "tool"`
  result; the fake answers at once, no keep-alives), so the figure also holds the second
  request's round trip.
- `slow`: the scripted provider with an action that takes 300 ms, past the 200 ms after which
  the card shows "running" (two card events and writes instead of one).

"Added" is, per answer: (the first word after the call reaching the conversation's event log)
minus (the moment the provider yielded the call) minus (the action's own duration). The target
is <= 30 ms. "Card bytes" are the card's events as the events route sends them (`id:`/`data:`
SSE blocks, before the route's gzip), per call; "gzip alone" compresses each call's events by
themselves (an upper bound: in the stream they share the route's gzip window).

    .venv/bin/python -m bench.actions [--answers 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gzip
import json
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bench.common import pct
from chatapp.actions import Actions, Registry, Result, seed_demo_orders
from chatapp.actions import orders as shipped_orders
from chatapp.actions.orders import ORDERS, OrderNumber
from chatapp.actions.registry import Database
from chatapp.config import ROOT
from chatapp.models import ACTION, USER, User
from chatapp.services.assistant import Assistant, StopRequests
from chatapp.services.auth import hash_password
from chatapp.services.cache import HistoryCache
from chatapp.services.events import MemoryEventLog
from chatapp.services.feed import Feed
from chatapp.services.knowledge import KnowledgeBase
from chatapp.services.llm.base import Delta, Question, ToolCall
from chatapp.services.llm.local import LocalResponder
from chatapp.services.llm.openrouter import OpenRouterProvider, make_client
from chatapp.services.ratelimit import MemoryRateLimiter
from chatapp.services.store import Store
from chatapp.services.threads import ANSWER_SUFFIX, Threads
from tests.fakes.fake_openrouter import FakeOpenRouter, tool_call
from tests.servers import DatabaseServer

TARGET_MS = 30.0
CONTINUATION = "Your order shipped with UPS and should arrive on Friday. Anything else?"
own: list[float] = []  # the action's own durations (s), measured inside it
slow_seconds = 0.0


def timed_registry() -> Registry:
    """The shipped order_status, timed from inside (and made slow when asked)."""
    timed = Registry()

    @timed.action(title="Order status", button="Check order status")
    async def order_status(order_id: OrderNumber, customer: User, db: Database) -> Result:
        """Look up one of the customer's orders: its status, what is in it, when it arrives.

        Args:
            order_id: The order number, like ORD-104233.
        """
        started = time.perf_counter()
        try:
            if slow_seconds:
                await asyncio.sleep(slow_seconds)
            return await shipped_orders.order_status(order_id, customer, db)
        finally:
            own.append(time.perf_counter() - started)

    return timed


class TimedLog(MemoryEventLog):
    """The memory event log, noting when each event was appended."""

    def __init__(self) -> None:
        super().__init__()
        self.appended: dict[str, list[tuple[float, str, dict[str, Any]]]] = {}

    async def append(self, stream: str, event: dict[str, Any]) -> str:
        event_id = await super().append(stream, event)
        self.appended.setdefault(stream, []).append((time.perf_counter(), event_id, event))
        return event_id


class Stamped:
    """Wraps a provider: when it yielded the tool call."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.call_at = 0.0

    def answer(self, question: Question) -> AsyncIterator[Delta | ToolCall]:
        return self._wrap(self.inner.answer(question))

    async def _wrap(self, items: AsyncIterator[Delta | ToolCall]) -> AsyncIterator[Delta | ToolCall]:
        async with contextlib.aclosing(items):
            async for item in items:
                if isinstance(item, ToolCall):
                    self.call_at = time.perf_counter()
                yield item


class Scripted:
    name = "scripted"

    def __init__(self) -> None:
        self.order_id = ""

    def answer(self, question: Question) -> AsyncIterator[Delta | ToolCall]:
        return self._play(bool(question.steps))

    async def _play(self, continuing: bool) -> AsyncIterator[Delta | ToolCall]:
        if not continuing:
            yield ToolCall("call_1", "order_status", json.dumps({"order_id": self.order_id}), "scripted")
            return
        for start in range(0, len(CONTINUATION), 8):
            yield Delta(CONTINUATION[start : start + 8], "scripted")


def sse_bytes(event_id: str, event: dict[str, Any]) -> bytes:
    """One event as the events route writes it (chatapp/live.py `_sse`)."""
    return f"id: {event_id}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


async def wired(store: Store) -> tuple[Threads, KnowledgeBase, HistoryCache, TimedLog, Feed]:
    """One worker's conversation services over `store`, its events timed as they are written."""
    await store.ensure_indexes()
    threads = Threads(store.db)
    await threads.ensure_indexes()
    kb = KnowledgeBase.load(ROOT / "knowledge")
    log = TimedLog()
    return threads, kb, HistoryCache(threads.messages, 1000, 60), log, Feed(log, lambda: kb)


async def run(kind: str, answers: int, server: DatabaseServer) -> dict[str, Any]:
    global slow_seconds
    slow_seconds = 0.3 if kind == "slow" else 0.0
    store = Store(server.uri, f"bench_actions_{uuid.uuid4().hex[:8]}", 5000)
    fake: FakeOpenRouter | None = None
    client: httpx.AsyncClient | None = None
    try:
        threads, kb, cache, log, feed = await wired(store)
        limiter = MemoryRateLimiter()
        if kind == "openrouter":
            fake = FakeOpenRouter(text=CONTINUATION, chunk_size=8, delay=0.0005, keepalives=0).start()
            client = make_client()
            inner = OpenRouterProvider(api_key="bench", base_url=fake.base_url, models=("model/a",),
                                       client=client)
        else:
            inner = Scripted()
        provider = Stamped(inner)
        local = LocalResponder(pause=0)
        actions = Actions(store.db, threads, store.users, cache, feed, limiter, timed_registry(),
                          per_minute=1_000_000)
        assistant = Assistant(threads, cache, feed, lambda: kb, provider, local, StopRequests(None),
                              actions=actions)
        customer = await store.users.create("bench", "bench@example.com", hash_password("bench-pass-1"))
        await seed_demo_orders(store.db, customer.id)
        order = await store.db[ORDERS].find_one({"customer_id": customer.id, "status": "shipped"})
        if isinstance(inner, Scripted):
            inner.order_id = order["order_id"]
        added, card_bytes, card_gzip, card_events = [], [], [], []
        own.clear()
        for turn in range(answers + 3):  # the first three warm up (connections, caches)
            if fake is not None:
                fake.script("model/a", tool_call("order_status", {"order_id": order["order_id"]}, pieces=3))
            chat_id = uuid.uuid4().hex[:16]
            text = f"Where is my order {order['order_id']}?"
            await threads.create(customer.id, text, chat_id)
            question, _ = await threads.add_message(customer.id, chat_id, USER, text,
                                                    client_id=uuid.uuid4().hex, status="sent")
            await cache.append(question)
            stored = await assistant.complete(question)
            assert stored is not None and stored.status == "complete", stored
            assert stored.content == CONTINUATION, stored.content
            entries = log.appended[chat_id]
            cards = [(i, e) for i, (_, _, e) in enumerate(entries)
                     if e["type"] == "message" and e["message"]["role"] == ACTION]
            assert cards and all(e["message"]["status"] in ("running", "done") for _, e in cards), cards
            last_card = cards[-1][0]
            answer_id = (await threads.answer_to(customer.id, question.client_id)).id
            first_after = next(at for at, _, e in entries[last_card:]
                               if e["type"] == "delta" and e["id"] == answer_id)
            if turn < 3:
                continue
            added.append((first_after - provider.call_at - own[-1]) * 1000)
            blocks = b"".join(sse_bytes(event_id, e) for _, event_id, e in
                              (entries[i] for i, _ in cards))
            card_bytes.append(len(blocks))
            card_gzip.append(len(gzip.compress(blocks, 6)))
            card_events.append(len(cards))
            assert stored.client_id == question.client_id + ANSWER_SUFFIX
        own_ms = [s * 1000 for s in own[3:]]
        return {"kind": kind, "answers": answers, "added_p50": statistics.median(added),
                "added_p95": pct(added, 0.95), "own_p50": statistics.median(own_ms),
                "events": statistics.median(card_events), "bytes": statistics.median(card_bytes),
                "gzip": statistics.median(card_gzip)}
    finally:
        if client is not None:
            await client.aclose()
        if fake is not None:
            fake.stop()
        await store.client.drop_database(store.db.name)
        store.close()


async def confirm_bytes(server: DatabaseServer) -> dict[str, Any]:
    """resend_invoice: the proposed card, then Confirm: its events and what Confirm adds."""
    store = Store(server.uri, f"bench_actions_{uuid.uuid4().hex[:8]}", 5000)
    try:
        threads, kb, cache, log, feed = await wired(store)
        actions = Actions(store.db, threads, store.users, cache, feed, MemoryRateLimiter(),
                          per_minute=1_000_000)
        local = LocalResponder(pause=0)
        assistant = Assistant(threads, cache, feed, lambda: kb, local, local, StopRequests(None),
                              actions=actions)
        customer = await store.users.create("bench", "bench@example.com", hash_password("bench-pass-1"))
        sizes, added = [], []
        for turn in range(23):
            chat_id = uuid.uuid4().hex[:16]
            text = "I never got my invoice, please resend it"
            await threads.create(customer.id, text, chat_id)
            question, _ = await threads.add_message(customer.id, chat_id, USER, text,
                                                    client_id=uuid.uuid4().hex, status="sent")
            await cache.append(question)
            await assistant.complete(question)
            card = next(e["message"] for _, _, e in log.appended[chat_id]
                        if e["type"] == "message" and e["message"]["role"] == ACTION)
            started = time.perf_counter()
            done = await actions.confirm(customer, card["id"])
            elapsed = time.perf_counter() - started
            assert done.status == "done", done
            if turn < 3:
                continue
            added.append(elapsed * 1000 - done.action["duration_ms"])
            sizes.append(sum(len(sse_bytes(i, e)) for _, i, e in log.appended[chat_id]
                             if e["type"] == "message" and e["message"]["role"] == ACTION))
        return {"bytes": statistics.median(sizes), "confirm_added_p50": statistics.median(added),
                "confirm_added_p95": pct(added, 0.95)}
    finally:
        await store.client.drop_database(store.db.name)
        store.close()


async def main(answers: int) -> None:
    server = DatabaseServer().start()
    try:
        results = [await run(kind, answers, server) for kind in ("scripted", "openrouter", "slow")]
        confirmed = await confirm_bytes(server)
    finally:
        server.stop()
    print(f"Actions: {answers} answers per row, each calling order_status once "
          f"({datetime.date.today()}, Python {sys.version.split()[0]})\n")
    print(f"{'provider':<12}{'added p50 ms':>14}{'added p95 ms':>14}{'action p50 ms':>15}"
          f"{'card events':>13}{'card bytes':>12}{'gzip alone':>12}  ok (p95 <= {TARGET_MS:.0f} ms)")
    for r in results:
        print(f"{r['kind']:<12}{r['added_p50']:>14.1f}{r['added_p95']:>14.1f}{r['own_p50']:>15.1f}"
              f"{r['events']:>13.0f}{r['bytes']:>12.0f}{r['gzip']:>12.0f}  "
              f"{'yes' if r['added_p95'] <= TARGET_MS else 'NO'}")
    print(f"\nresend_invoice (proposed, then Confirm): card events {confirmed['bytes']:.0f} bytes per "
          f"call; Confirm adds {confirmed['confirm_added_p50']:.1f} ms p50, "
          f"{confirmed['confirm_added_p95']:.1f} ms p95 beyond the action's own duration")
    print(f"\ncommand: .venv/bin/python -m bench.actions --answers {answers}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=50)
    asyncio.run(main(parser.parse_args().answers))

"""The team's inbox at scale: 1,000 open conversations, an agent opening /inbox in real Chromium,
and new handoffs reaching 10 agents watching.

It starts everything itself and stops it on exit: the database (DatabaseServer), the app as
`make run` starts it (AppServer; built in a REFLEX_WEB_WORKDIR of the benchmarks' own; the
built-in responder, no provider), a counting TCP proxy in front of it (API_URL points at the
proxy, so the page, the event socket and both events routes go through it) and Chromium.

Seeded straight into the app's database, in the documents' own shape (chatapp.services.store
and chatapp.services.threads): `--agents` + 1 agents ("Agent 1".."Agent 11": the first does
the navigations, the next `--watchers` watch, so no agent's stream slots, MAX_STREAMS_PER_USER,
are shared between the two), 250 customers, and
`--open` open conversations (60% waiting, 40% assigned, spread over the agents), each with three
messages (the customer's question, taken from bench/kb_questions*.json; the assistant's answer;
"Handed over to the support team."), plus `--closed` closed ones (the queue also lists the 100
most recently closed).

1. Navigation. A fresh browser context (empty cache), logged in over HTTP
   (POST /api/auth/login from the context, so the cookie is the page's), goes to `/inbox` and,
   in another run, to `/inbox?c=<a waiting conversation>`. An init script (at document start)
   stamps, in ms from navigation start (`performance.now()`, 0 = the navigation's start):
   - "first row": the first `.queue-row` in the list;
   - "all waiting rows": the Waiting view (the one shown) holds every waiting conversation;
   - "view counts right": Waiting, Mine, All open and Closed show the seeded counts;
   - "conversation ready" (with ?c= only): the conversation's three messages are shown, the
     customer's name heads the side panel, and "Send reply" is enabled (it is disabled until the
     page knows who is signed in);
   - "usable": all of the above at once. The team's page renders only once its state has
     hydrated (the role decides), so a shown tab strip also means the event socket is connected.
   Bytes: the TCP payload the proxy forwards app -> browser from just before the navigation to
   "usable" + 500 ms, by route (static assets, the document and other HTTP, the event socket,
   the team's events route, the conversation's events route); and the DevTools protocol's view
   (per request: `loadingFinished.encodedDataLength`, or for streams still open the sum of
   `dataReceived.encodedDataLength`; websocket frames). "warm" repeats the navigation in the
   same context (HTTP cache filled). Medians of `--runs`.
2. Handoffs watched by `--watchers` agents. Either 10 Chromium pages (one context each, each
   agent logged in, /inbox open and usable), a MutationObserver in each stamping
   `performance.timeOrigin + performance.now()` when a `.queue-row` of the new customer first
   shows in the list; or 10 raw readers of `/api/inbox/events` (bench.common.EventStream, gzip)
   receiving the "queue" row. Each of `--handoffs` new customers (signed up beforehand, socket
   open) writes "agent please" in a new chat (`ChatState.send`): timed from `time.time()` just
   before the event frame goes out. `--watch browser|sse|both` (both: one after the other).

    .venv/bin/python -m bench.inbox [--open 1000] [--closed 100] [--runs 3] [--handoffs 10]
                                    [--watchers 10] [--watch both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import random
import secrets
import shlex
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import psutil
from bson import ObjectId
from motor.motor_asyncio import AsyncIOMotorClient
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from bench.common import (
    EventStream,
    Follower,
    Socket,
    Watchdog,
    app_env,
    chromium_procs,
    cpu_snapshot,
    cpu_used,
    event_name,
    log_in,
    pct,
    sign_up,
    web_workdir,
)
from chatapp.services.auth import hash_password
from chatapp.services.threads import Threads
from chatapp.state.chat import ChatState
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.servers import ROOT, AppServer, DatabaseServer, free_port
from tests.tcp_proxy import TcpProxy

LOGS = ROOT / "test-results"
PASSWORD = "bench-agent-password"
CUSTOMERS = 250
TARGET_MS, TARGET_BYTES, TARGET_HANDOFF_MS = 1500, 150_000, 200
ROUTES = (("/_event", "event socket"), ("/api/inbox/events", "team events route"),
          ("/api/conversations/", "conversation events route"), ("/assets/", "static assets"))
ROUTE_NAMES = [name for _, name in ROUTES] + ["document and other HTTP"]


def route_of(path: bytes) -> str:
    text = path.decode(errors="replace")
    return next((name for key, name in ROUTES if text.startswith(key)), "document and other HTTP")


# Stamps the milestones of one navigation (ms after its start) in window.__inbox, and adds
# <meta id="bench-usable"> once the page is usable, for Python to wait on without eval (CSP).
MILESTONES = r"""(want) => {
  const marks = window.__inbox = {};
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const count = (view) => {
    const tab = [...document.querySelectorAll('.queue-view')].find(t => t.textContent.startsWith(view));
    return tab ? Number(tab.querySelector('.queue-count')?.textContent) : -1;
  };
  const check = () => {
    const rows = document.querySelectorAll('.queue-list .queue-row').length;
    if (rows > 0) mark('first row');
    const all = rows >= want.waiting;
    if (all) mark('all waiting rows');
    const counts = count('Waiting') === want.waiting && count('Mine') === want.mine
      && count('All open') === want.open && count('Closed') === want.closed;
    if (counts) mark('view counts right');
    let conversation = true;
    if (want.messages) {
      const name = document.querySelector('.inbox-customer h2');
      conversation = document.querySelectorAll('.messages .message').length >= want.messages
        && !!document.querySelector('.composer-send:not([disabled])')
        && !!name && name.textContent === want.customer;
      if (conversation) mark('conversation ready');
    }
    if (all && counts && conversation) {
      mark('usable');
      observer.disconnect();
      const flag = document.createElement('meta');
      flag.id = 'bench-usable';
      document.head.appendChild(flag);
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {subtree: true, childList: true, characterData: true,
                              attributes: true, attributeFilter: ['disabled']});
}"""

# At document start, in the watcher pages: stamps (epoch ms) when the team stream's message
# naming each handoff customer is dispatched to the page's JavaScript, before the app's own
# handler runs (a listener added in the constructor runs before `onmessage`, set after it).
ARRIVALS = r"""(() => {
  const arrived = window.__arrived = {};
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(url, options) {
      super(url, options);
      if (String(url).includes('/api/inbox/events')) this.addEventListener('message', (event) => {
        const match = event.data.match(/"customer":"(handoff[^"]+)"/);
        if (match && !(match[1] in arrived)) arrived[match[1]] = performance.timeOrigin + performance.now();
      });
    }
  };
})()"""

# Stamps (epoch ms) the first time a queue row of each handoff customer shows in the list.
WATCH_ROWS = r"""() => {
  const seen = window.__rows = {};
  const scan = () => {
    const now = performance.timeOrigin + performance.now();
    for (const el of document.querySelectorAll('.queue-list .queue-customer')) {
      const name = el.textContent;
      if (name.startsWith('handoff') && !(name in seen)) seen[name] = now;
    }
  };
  new MutationObserver(scan).observe(document.querySelector('.queue'),
    {subtree: true, childList: true, characterData: true});
}"""


@dataclass
class Seeded:
    agents: list[str]  # usernames
    waiting: int
    assigned: int
    closed: int
    mine: dict[str, int]  # agent username -> assigned to them
    example: str = ""  # a waiting conversation to open
    example_customer: str = ""
    handed_off: int = 0  # waiting conversations the benchmark's own handoffs added since
    seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)


def run_async(work):
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        return pool.submit(lambda: asyncio.run(work)).result()


def questions() -> list[str]:
    found = []
    for name in ("kb_questions.json", "kb_questions_blind.json"):
        found += [item["question"] for item in json.loads((ROOT / "bench" / name).read_text())]
    return found


FIRST = ["Ana", "Ben", "Chloe", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jia", "Kofi",
         "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás", "Uma", "Viktor",
         "Wen", "Ximena", "Yusuf", "Zoe"]
LAST = ["Abbott", "Baptiste", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Horvat", "Ito",
        "Jovanović", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe",
        "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz", "Zhang"]


def seed(uri: str, name: str, open_count: int, closed: int, agents: int) -> Seeded:
    """Agents, customers and conversations written straight to the database, in the shape
    Users.create, Threads.create / update and Threads.add_message write them."""
    rng = random.Random(11)
    texts = questions()
    password_hash = hash_password(PASSWORD)

    async def work() -> Seeded:
        client = AsyncIOMotorClient(uri, tz_aware=True)
        db = client[name]
        started = time.monotonic()
        try:
            await Threads(db).ensure_indexes()
            now = datetime.datetime.now(datetime.UTC)
            ms = int(now.timestamp() * 1000)

            def user(username: str, role: str, display: str = "") -> dict:
                return {"_id": ObjectId(), "username": username, "username_key": username.casefold(),
                        "email": f"{username}@example.com", "email_key": f"{username}@example.com",
                        "password_hash": password_hash, "token_version": 0,
                        "created_at": now - datetime.timedelta(days=rng.randint(1, 700)),
                        "role": role, "active": True, "display_name": display}

            team = [user(f"agent{n + 1}_{secrets.token_hex(3)}", "agent", f"Agent {n + 1}")
                    for n in range(agents)]
            people = []
            for n in range(CUSTOMERS):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                people.append(user(f"{first.lower()[:3]}{last.lower()[:4]}{n}", "customer")
                              | {"display_name": ""})
                people[-1]["full_name"] = f"{first} {last}"
            await db["users"].insert_many(team + people)
            threads, messages = [], []
            mine: Counter[str] = Counter()
            waiting = round(open_count * 0.6)
            for n in range(open_count + closed):
                owner = rng.choice(people)
                question = rng.choice(texts)
                chat_id = secrets.token_hex(8)
                age = rng.randint(60_000, 3 * 86_400_000)  # 1 minute to 3 days ago
                status = "waiting" if n < waiting else "assigned" if n < open_count else "closed"
                agent = team[n % agents]
                doc = {"_id": chat_id, "owner": str(owner["_id"]), "title": question[:60],
                       "created_at": now - datetime.timedelta(milliseconds=age + 120_000),
                       "updated_at": ms - age, "status": status,
                       "customer_name": owner["username"], "customer_email": owner["email"],
                       "handoff_at": ms - age, "waiting_since": ms - age if status == "waiting" else None,
                       "team_unread": status == "waiting" or rng.random() < 0.3,
                       "preview": question[:140], "summary": f"- The customer asks: {question}",
                       "assignee": "" if status == "waiting" else str(agent["_id"]),
                       "assignee_name": "" if status == "waiting" else agent["display_name"],
                       "notice": "You're in the queue; the team usually replies within 5 minutes."
                       if status == "waiting" else f"{agent['display_name']} from Support is with you."}
                if status == "closed":
                    doc["closed_at"] = ms - age // 2
                if status == "assigned":
                    mine[agent["username"]] += 1
                threads.append(doc)
                base = now - datetime.timedelta(milliseconds=age + 60_000)
                client_id = uuid.uuid4().hex
                for step, (role, content, extra) in enumerate((
                        ("user", question, {"status": "sent"}),
                        ("assistant", "I'm sorry, I couldn't find that in our help centre. A person "
                                      "from our support team can help with this.",
                         {"status": "complete", "declined": True}),
                        ("activity", "Handed over to the support team.", {"status": "sent"}))):
                    messages.append({
                        "owner": str(owner["_id"]), "chat_id": chat_id, "role": role, "content": content,
                        "model": "", "client_id": f"{client_id}:answer" if role == "assistant"
                        else client_id if role == "user" else f"activity:{uuid.uuid4().hex}",
                        "created_at": base + datetime.timedelta(seconds=step), "sources": [],
                        "author": "", "declined": False, **extra})
            for start in range(0, len(threads), 500):
                await db["threads"].insert_many(threads[start:start + 500])
            for start in range(0, len(messages), 500):
                await db["messages"].insert_many(messages[start:start + 500])
            example = threads[0]
            return Seeded(agents=[a["username"] for a in team], waiting=waiting,
                          assigned=open_count - waiting, closed=closed, mine=dict(mine),
                          example=example["_id"], example_customer=example["customer_name"],
                          seconds=time.monotonic() - started,
                          sizes={"users": len(team) + len(people), "threads": len(threads),
                                 "messages": len(messages)})
        finally:
            client.close()

    return run_async(work())


class Network:
    """The DevTools protocol's account of one page's traffic: wire bytes per request (headers
    included) by resource type, websocket payloads, and when each stream's data arrived."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.requests: dict[str, dict] = {}
        self.frames = 0
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.dataReceived", self._data)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.webSocketFrameReceived",
                    lambda e: setattr(self, "frames", self.frames + len(e["response"]["payloadData"])))
        self.cdp.send("Network.enable")

    def _sent(self, event: dict) -> None:
        self.requests[event["requestId"]] = {
            "url": event["request"]["url"], "type": event.get("type", ""), "data": 0, "total": None,
            "wall": event["wallTime"], "ts": event["timestamp"], "first_data": None}

    def _data(self, event: dict) -> None:
        request = self.requests.get(event["requestId"])
        if request:
            request["data"] += event.get("encodedDataLength", 0)
            if request["first_data"] is None:
                request["first_data"] = request["wall"] + event["timestamp"] - request["ts"]

    def _finished(self, event: dict) -> None:
        request = self.requests.get(event["requestId"])
        if request:
            request["total"] = event["encodedDataLength"]

    def by_kind(self) -> Counter:
        """Finished requests by resource type (their `encodedDataLength`: body as sent, with
        headers), and the websocket payloads; streams still open are left to the proxy's count
        (Chromium reports their `dataReceived.encodedDataLength` as 0 on a first load)."""
        kinds: Counter = Counter()
        for request in self.requests.values():
            if request["total"] is not None:
                kinds[request["type"] or "Other"] += request["total"]
        kinds["WebSocket frames (payload)"] = self.frames
        return kinds

    def refetched(self) -> list[str]:
        """Finished requests that carried a body of more than 1 KB (not served from the cache)."""
        return sorted(r["url"].rsplit("/", 1)[-1] for r in self.requests.values()
                      if r["total"] is not None and r["total"] > 1000)

    def first_data(self, fragment: str) -> float | None:
        times = [r["first_data"] for r in self.requests.values() if fragment in r["url"] and r["first_data"]]
        return min(times) if times else None

    def detach(self) -> None:
        with contextlib.suppress(Exception):
            self.cdp.detach()


class Profiler:
    """V8's sampling profiler on one page (DevTools protocol): where its main thread spends the
    time, by function, self time."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Profiler.enable")
        self.cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        self.cdp.send("Profiler.start")

    def report(self, handoffs: int, top: int = 10) -> str:
        profile = self.cdp.send("Profiler.stop")["profile"]
        self.cdp.detach()
        nodes = {node["id"]: node["callFrame"] for node in profile["nodes"]}
        spent: Counter = Counter()
        for node, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
            frame = nodes[node]
            where = frame["url"].rsplit("/", 1)[-1] or frame["functionName"]
            spent[(frame["functionName"] or "(anonymous)", where)] += delta / 1000
        native = {"(idle)", "(program)", "(garbage collector)", "(root)"}
        script = sum(ms for (name, _), ms in spent.items() if name not in native)
        lines = [f"{ms:7.1f} ms  {name} ({where})" for (name, where), ms in spent.most_common()
                 if name not in native][:top]
        collector = spent[("(garbage collector)", "(garbage collector)")]
        return (f"V8 sampling profile of one watcher page over the {handoffs} handoffs (the profiler "
                f"slows the page: proportions only): JavaScript {script:.0f} ms ({script / handoffs:.0f} ms "
                f"per handoff), garbage collection {collector:.0f} ms, "
                f"outside JavaScript (style, layout, paint, parsing) "
                f"{spent[('(program)', '(program)')]:.0f} ms; JavaScript by function, self time:\n    "
                + "\n    ".join(lines))


class Bench:
    def __init__(self, app: AppServer, proxy: TcpProxy, browser: Browser, seeded: Seeded,
                 profile: bool = False) -> None:
        self.app, self.proxy, self.browser, self.seeded = app, proxy, browser, seeded
        self.origin = f"http://127.0.0.1:{proxy.port}"
        self.profile = profile
        self.notes: list[str] = []
        self.split: dict[str, list[list[float]]] = {}

    def context(self, login: str) -> BrowserContext:
        context = self.browser.new_context(base_url=self.origin)
        response = context.request.post(f"{self.origin}/api/auth/login", data={
            "login": login, "password": PASSWORD}, headers={"Origin": self.origin})
        if not response.ok:
            raise RuntimeError(f"log-in of {login}: {response.status} {response.text()}")
        return context

    def want(self, login: str, conversation: bool) -> dict:
        seeded = self.seeded
        waiting = seeded.waiting + seeded.handed_off
        return {"waiting": waiting, "mine": seeded.mine.get(login, 0),
                "open": waiting + seeded.assigned, "closed": min(seeded.closed, 100),
                "messages": 3 if conversation else 0, "customer": seeded.example_customer}

    def navigate(self, page: Page, path: str) -> dict:
        """One navigation until usable: its milestones (ms) and bytes."""
        network = Network(page)
        before = Counter(self.proxy.down)
        page.goto(path, wait_until="commit")
        page.locator("#bench-usable").wait_for(state="attached", timeout=60_000)
        started = page.evaluate("performance.timeOrigin") / 1000
        page.wait_for_timeout(500)
        marks = page.evaluate("window.__inbox")
        timing = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
            return {'document received': n.responseEnd, 'DOMContentLoaded': n.domContentLoadedEventEnd,
                    'load event': n.loadEventEnd}; }""")
        wire = Counter({key: n - before[key] for key, n in self.proxy.down.items()})
        stream = network.first_data("/api/inbox/events")
        result = {**{k: v for k, v in timing.items() if v}, **marks}
        if stream:
            result["team stream's first data"] = (stream - started) * 1000
        result["wire"] = wire
        result["cdp"] = network.by_kind()
        result["fetched"] = network.refetched()
        network.detach()
        return result

    def navigation_runs(self, runs: int, path: str, conversation: bool) -> tuple[list[dict], list[dict]]:
        login = self.seeded.agents[0]
        cold, warm = [], []
        for _ in range(runs):
            context = self.context(login)
            try:
                context.add_init_script(f"({MILESTONES})({json.dumps(self.want(login, conversation))})")
                page = context.new_page()
                cold.append(self.navigate(page, path))
                warm.append(self.navigate(page, path))
            finally:
                context.close()
            print(f"  {path}: usable after {cold[-1]['usable']:.0f} ms cold, "
                  f"{warm[-1]['usable']:.0f} ms warm; {cold[-1]['wire'].total() / 1000:.1f} KB cold, "
                  f"{warm[-1]['wire'].total() / 1000:.1f} KB warm", flush=True)
        return cold, warm

    def customers(self, count: int) -> list[tuple[str, Socket, httpx.Client]]:
        """New customers, signed up, each with its event socket open: (name, socket, client)."""
        people = []
        for n in range(count):
            http = httpx.Client(base_url=self.app.url, timeout=30, headers={
                "X-Forwarded-For": f"10.6.{n // 250}.{n % 250 + 1}"})
            name, cookie = sign_up(http, f"handoff{n}x")
            people.append((name, Socket(self.app.url, cookie, origin=self.origin), http))
        return people

    def hand_off(self, people: list[tuple[str, Socket, httpx.Client]], gap: float = 1.5) -> list[float]:
        """Each customer asks for a person in a new chat, `gap` seconds apart: the times sent.
        Each adds a waiting conversation, which the next page's "view counts right" must expect."""
        self.seeded.handed_off += len(people)
        sent = []
        for _, socket, _ in people:
            sent.append(socket.emit(event_name(ChatState, "send"), {"message": {
                "client_id": uuid.uuid4().hex, "chat_id": secrets.token_hex(8),
                "text": "agent please"}}, "/chat"))
            time.sleep(gap)
        return sent

    @staticmethod
    def leave(people: list[tuple[str, Socket, httpx.Client]]) -> None:
        for _, socket, http in people:
            socket.close()
            http.close()

    def watch_browser(self, watchers: int, handoffs: int) -> list[list[float]]:
        """Seconds from each handoff's send to its row in each of `watchers` pages."""
        contexts, pages = [], []
        try:
            for login in self.seeded.agents[1:watchers + 1]:
                context = self.context(login)
                context.add_init_script(f"({MILESTONES})({json.dumps(self.want(login, False))})")
                context.add_init_script(ARRIVALS)
                page = context.new_page()
                page.goto("/inbox", wait_until="commit")
                contexts.append(context)
                pages.append(page)
            for page in pages:
                page.locator("#bench-usable").wait_for(state="attached", timeout=120_000)
                page.evaluate(WATCH_ROWS)
            pages[0].wait_for_timeout(2000)  # let every page settle after its snapshot
            people = self.customers(handoffs)
            profiler = Profiler(pages[0]) if self.profile else None
            before = cpu_snapshot(chromium_procs())
            sent = self.hand_off(people)
            pages[0].wait_for_timeout(1000)
            used = cpu_used(before, cpu_snapshot(chromium_procs()))
            self.notes.append(f"Chromium CPU while the {watchers} pages took {handoffs} handoffs: "
                              f"{used.total():.2f} s ({used['renderer']:.2f} s in renderers: "
                              f"{used['renderer'] / handoffs / watchers * 1000:.0f} ms per handoff per page)")
            if profiler:
                self.notes.append(profiler.report(handoffs))
            seen = [page.evaluate("window.__rows") for page in pages]
            arrived = [page.evaluate("window.__arrived") for page in pages]
            self.leave(people)
        finally:
            for context in contexts:
                context.close()
        names = [name for name, _, _ in people]
        self.split = {
            "send -> the stream's message dispatched in the page": [
                [got[name] / 1000 - at if name in got else float("nan") for got in arrived]
                for name, at in zip(names, sent, strict=True)],
            "dispatched -> the row in the list (rendering)": [
                [(row[name] - got[name]) / 1000 if name in row and name in got else float("nan")
                 for row, got in zip(seen, arrived, strict=True)] for name in names]}
        return [[row[name] / 1000 - at if name in row else float("nan") for row in seen]
                for name, at in zip(names, sent, strict=True)]

    def watch_sse(self, watchers: int, handoffs: int) -> list[list[float]]:
        """The same, each watcher a raw reader of the team's events route."""
        followers, clients = [], []
        try:
            for n, login in enumerate(self.seeded.agents[1:watchers + 1]):
                http = httpx.Client(base_url=self.app.url, timeout=30, headers={
                    "X-Forwarded-For": f"10.5.0.{n + 1}"})
                cookie = log_in(http, login, PASSWORD)
                followers.append(Follower(EventStream(http, "/api/inbox/events", cookie)))
                clients.append(http)
            for follower in followers:
                follower.wait_for(lambda e: e["type"] == "snapshot", timeout=60)
            time.sleep(2)
            people = self.customers(handoffs)
            counts = [sum(1 for _, _, e in f.events if e["type"] == "queue") for f in followers]
            sent = self.hand_off(people)
            latencies = []
            for (name, _, _), at in zip(people, sent, strict=True):
                row = []
                for follower in followers:
                    try:
                        shown, _ = follower.wait_for(lambda e, name=name: e["type"] == "queue"
                                                     and e["row"]["customer"] == name, 0, 10)
                        row.append(shown - at)
                    except TimeoutError:
                        row.append(float("nan"))
                latencies.append(row)
            time.sleep(1)
            after = [sum(1 for _, _, e in f.events if e["type"] == "queue") for f in followers]
            events = statistics.median(after) - statistics.median(counts)
            self.notes.append(f"queue events on the team's events route: {events:.0f} for {handoffs} "
                              f"handoffs ({events / handoffs:.1f} each), each sent to every watcher")
            self.leave(people)
        finally:
            for follower in followers:
                follower.close()
            for http in clients:
                http.close()
        return latencies


def median_of(results: list[dict], key: str) -> float | None:
    values = [r[key] for r in results if key in r]
    return statistics.median(values) if values else None


def kb(n: float) -> str:
    return f"{n / 1000:,.1f} KB"


def navigation_table(cases: dict[str, tuple[list[dict], list[dict]]]) -> None:
    keys = ["document received", "first row", "team stream's first data", "all waiting rows",
            "view counts right", "conversation ready", "DOMContentLoaded", "load event", "usable"]
    heads = [f"{path} {kind}" for path in cases for kind in ("cold", "warm")]
    print("| ms after navigation start (median) | " + " | ".join(heads) + " | target |")
    print("|---|" + "---|" * len(heads) + "---|")
    for key in keys:
        cells = []
        for cold, warm in cases.values():
            for results in (cold, warm):
                value = median_of(results, key)
                cells.append("-" if value is None else f"{value:,.0f}")
        target = f"<= {TARGET_MS:,}" if key == "usable" else ""
        print(f"| {key} | " + " | ".join(cells) + f" | {target} |")
    print()
    print("| bytes to the page (median) | " + " | ".join(heads) + " | target |")
    print("|---|" + "---|" * len(heads) + "---|")
    rows = [("TCP payload, app -> browser, total", lambda r: r["wire"].total())]
    rows += [(f"  {name}", lambda r, name=name: r["wire"][name]) for name in ROUTE_NAMES]
    kinds = sorted({kind for cold, warm in cases.values() for r in cold + warm for kind in r["cdp"]})
    rows += [("DevTools: finished requests (with headers), websocket payloads",
              lambda r: r["cdp"].total())]
    rows += [(f"  {kind}", lambda r, kind=kind: r["cdp"][kind]) for kind in kinds]
    for label, value in rows:
        cells = [kb(statistics.median(value(r) for r in results))
                 for cold, warm in cases.values() for results in (cold, warm)]
        target = f"<= {TARGET_BYTES // 1000} KB" if label.startswith("TCP") else ""
        print(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    for path, (_, warm) in cases.items():
        print(f"\n{path} warm: fetched again (over 1 KB): {', '.join(warm[-1]['fetched']) or 'nothing'}")


def handoff_rows(name: str, latencies: list[list[float]]) -> list[tuple[str, str]]:
    values = [v * 1000 for row in latencies for v in row if v == v]
    missing = sum(1 for row in latencies for v in row if v != v)
    if not values:
        return [(name, f"no handoff seen ({missing} missing)")]
    slowest = [max(v for v in row if v == v) * 1000 for row in latencies if any(v == v for v in row)]
    return [(name, f"p50 {statistics.median(values):.0f} / p95 {pct(values, 0.95):.0f} / "
                   f"max {max(values):.0f} ms"),
            (f"  {name}: the last of the watchers, per handoff, median / max",
             f"{statistics.median(slowest):.0f} / {max(slowest):.0f} ms"),
            (f"  {name}: rows never seen", str(missing))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=1000, help="open conversations seeded")
    parser.add_argument("--closed", type=int, default=100)
    parser.add_argument("--agents", type=int, default=10, help="agents seeded besides the one "
                        "doing the navigations (at least --watchers); assigned conversations are "
                        "spread over all of them")
    parser.add_argument("--runs", type=int, default=3, help="navigations per case (medians)")
    parser.add_argument("--handoffs", type=int, default=10)
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--watch", choices=("browser", "sse", "both"), default="both")
    parser.add_argument("--profile", action="store_true",
                        help="V8 CPU profile of one watcher page during the handoffs")
    args = parser.parse_args()
    LOGS.mkdir(exist_ok=True)
    database = DatabaseServer().start()
    db_name = f"bench_{uuid.uuid4().hex[:8]}"
    warnings = []
    with contextlib.ExitStack() as stack:
        stack.callback(database.stop)
        proxy_port = free_port()
        origin = f"http://127.0.0.1:{proxy_port}"
        app = AppServer(app_env(
            MONGODB_URI=database.uri, MONGODB_DB=db_name, OPEN_ROUTER="", API_URL=origin,
            FRONTEND_ORIGINS=f"{origin},http://localhost:{proxy_port}",
            REFLEX_WEB_WORKDIR=stack.enter_context(web_workdir())), LOGS / "bench-inbox.log")
        print(f"Starting the app (log: {app.log_path})…", flush=True)
        app.start()
        stack.callback(app.stop)
        proxy = TcpProxy(proxy_port, app.port, route_of).start()
        seeded = seed(database.uri, db_name, args.open, args.closed, max(args.agents, args.watchers) + 1)
        print(f"Seeded {seeded.sizes} in {seeded.seconds:.1f} s: {seeded.waiting} waiting, "
              f"{seeded.assigned} assigned, {seeded.closed} closed", flush=True)
        watchdog = Watchdog(app.process.pid)
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        bench = Bench(app, proxy, browser, seeded, args.profile)
        bench.navigation_runs(1, "/inbox", False)  # warms the app up, not counted
        cases = {
            "/inbox": bench.navigation_runs(args.runs, "/inbox", False),
            "/inbox?c=": bench.navigation_runs(args.runs, f"/inbox?c={seeded.example}", True),
        }
        people = bench.customers(1)  # one unmeasured handoff: the app's first summary loads the
        bench.hand_off(people, gap=3)  # speller's word list, which is start-up, not load
        bench.leave(people)
        watched = {}
        if args.watch in ("browser", "both"):
            print(f"Handoffs watched by {args.watchers} Chromium pages…", flush=True)
            watched[f"{args.watchers} Chromium pages"] = bench.watch_browser(args.watchers, args.handoffs)
        if args.watch in ("sse", "both"):
            print(f"Handoffs watched by {args.watchers} raw readers…", flush=True)
            watched[f"{args.watchers} raw readers"] = bench.watch_sse(args.watchers, args.handoffs)
        browser.close()
        if warning := watchdog.stop():
            warnings.append(warning)

    load = psutil.getloadavg()
    print(f"\n{datetime.date.today()}, nproc {psutil.cpu_count()}, load average {load[0]:.1f} / "
          f"{load[1]:.1f} / {load[2]:.1f}; {seeded.waiting + seeded.assigned:,} open conversations "
          f"({seeded.waiting} waiting, {seeded.assigned} assigned) and {seeded.closed} closed seeded "
          f"(the handoffs measured add {seeded.handed_off} waiting); {args.runs} navigation(s) per case; "
          f"another benchmark may have been running (see the load average):\n")
    navigation_table(cases)
    print(f"\n| {args.handoffs} handoffs: send -> the new row in the watcher's list | value | target |")
    print("|---|---|---|")
    for name, latencies in watched.items():
        for label, value in handoff_rows(name, latencies):
            target = f"<= {TARGET_HANDOFF_MS} ms" if label == name else ""
            print(f"| {label} | {value} | {target} |")
        if "Chromium" in name:
            for part, values in bench.split.items():
                print(f"|   {name}: {part} | {handoff_rows(part, values)[0][1]} | |")
    for note in bench.notes:
        print(f"\n{note}")
    for warning in warnings:
        print(warning)
    print(f"\n$ {shlex.join(['.venv/bin/python', '-m', 'bench.inbox', *sys.argv[1:]])}")
    return 1 if warnings else 0


if __name__ == "__main__":
    sys.exit(main())

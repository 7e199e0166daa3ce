"""Handoff latency: an agent's reply -> visible on the customer's page, and a customer's message
-> visible in the agent's inbox, on 1 worker and on 2 workers sharing Redis.

The operator's split deployment, started by its make targets: `make export` once (the static
frontend, API_URL baked in, built in a bench directory of its own), then for each
configuration `make backend BACKEND_PORT=<port> WORKERS=<n> REDIS_URL=<url>` (1 worker without
Redis; 2 workers with a fresh redis-server) with a fresh database, and `make serve-export` for
the pages. Nobody else talks to that backend while it is measured.

One customer and one agent ("Alex") share one conversation: the customer asks for a person in
words ("agent please"), the agent opens it (`InboxState.load` at /inbox?c=<id>) and claims it
(`InboxState.claim`). Then `--messages` rounds, each: the agent replies (`InboxState.reply` over
the agent's event socket), the customer writes (`ChatState.send` over the customer's event
socket), each carrying a unique marker, with a random pause of 50-150 ms before each. Each
message is timed from `time.time()` just before its event frame goes out on the raw socket
(tests/socket_client-style client, bench.common.Socket) to:

- "page": a real Chromium page showing it: the customer's page at /chat/<id> (a new
  `.message-agent .message-text` holding the marker) and the agent's inbox page at
  /inbox?c=<id> (a new `.message-user .message-text`), by a MutationObserver in each page
  stamping `performance.timeOrigin + performance.now()` (DOM time, not paint time; agrees
  with time.time() to 1-3 ms here);
- "stream": a raw reader of the same events route (bench.common.EventStream, gzip, as the
  page's EventSource) receiving the message's row: the customer's conversation stream for a
  reply; the agent's conversation stream for a customer message;
- "queue": for a customer message, the agent's raw team stream (/api/inbox/events) receiving
  the conversation's queue row with the message as its preview.

Where the time goes, from the message's own `at` (created_at, stamped by the server just
before it stores the message, same clock): "send -> stored" is the socket, the Reflex event
(session check, state lock), the service's checks; "stored -> stream" is the insert, the
history cache, the event log append (Redis XADD with 2 workers) and the reader's wake-up.

With 2 workers, the customer's side and the agent's side are put on different workers, and
checked: the customer's page stream (X-Served-By of its events response) is on worker A; the
agent's raw socket (the writer of replies; which worker holds a socket is read with psutil:
the worker process holding the server end of our connection) and the agent's raw stream and
page stream (X-Served-By) are on worker B; the customer's raw socket (the writer of customer
messages) and raw stream are on A. Connections (and the agent's page) are opened again until
they land where they must; the placement is printed. The first 10 rounds warm up, unmeasured.

    .venv/bin/python -m bench.handoff [--messages 200] [--workers 1 2] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import random
import re
import shlex
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from motor.motor_asyncio import AsyncIOMotorClient
from playwright.sync_api import Browser, Page, sync_playwright

from bench.common import (
    EventStream,
    Follower,
    Socket,
    Watchdog,
    app_env,
    bench_dir,
    event_name,
    log_in,
    pct,
    sign_up,
    worker_ids,
    worker_of,
    worker_pids,
)
from chatapp.models import AGENT
from chatapp.services.auth import hash_password
from chatapp.services.store import Users
from chatapp.state.chat import ChatState
from chatapp.state.inbox import InboxState
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.deployment import make_export
from tests.servers import ROOT, Command, DatabaseServer, RedisServer, free_port, wait_for

LOGS = ROOT / "test-results"
AGENT_PASSWORD = "bench-agent-password"
CUSTOMER_PASSWORD = "bench-password-1"
WARM_UP = 10
TRIES = 40  # fresh connections until one lands on the wanted worker: 1 in 10^12 to fail by chance
MARK = re.compile(r"ref ([0-9a-z]+)\)")

# Stamps (epoch ms) the first time each marker shows in an element matching the selector.
OBSERVE = r"""(selector) => {
  const seen = window.__seen = {};
  const scan = () => {
    const now = performance.timeOrigin + performance.now();
    const found = document.querySelectorAll(selector);
    for (let i = found.length - 1; i >= 0; i--) {
      const match = found[i].textContent.match(/ref ([0-9a-z]+)\)/);
      if (!match) continue;
      if (match[1] in seen) break;
      seen[match[1]] = now;
    }
  };
  new MutationObserver(scan).observe(document.body,
    {subtree: true, childList: true, characterData: true});
  scan();
}"""


@dataclass
class Sample:
    """One message: when it was sent and when each reader showed it (epoch seconds)."""

    kind: str  # "reply" (agent -> customer) or "message" (customer -> agent)
    marker: str
    sent: float
    stored: float = 0.0  # the row's `at`
    stream: float = 0.0
    queue: float = 0.0
    page: float = 0.0


@dataclass
class Deployment:
    api: str
    site: str
    backend: Command
    log: Path
    db_uri: str
    db_name: str
    pids: list[int] = field(default_factory=list)


def run_async(work) -> object:
    """Run a coroutine from code that Playwright's sync API owns (its thread has a loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(work)).result()


def create_agent(db_uri: str, db_name: str) -> str:
    """An agent account ("Alex"), made in the database as `make admin` would; its username."""
    name = f"alex_{uuid.uuid4().hex[:8]}"

    async def make() -> None:
        client = AsyncIOMotorClient(db_uri, tz_aware=True)
        try:
            await Users(client[db_name]).create(name, f"{name}@example.com", hash_password(AGENT_PASSWORD),
                                                role=AGENT, display_name="Alex")
        finally:
            client.close()

    run_async(make())
    return name


def row_with(marker: str, field_name: str = "content") -> Callable[[dict], bool]:
    """A check for Follower.wait_for: a message event whose row holds the marker."""
    needle = f"ref {marker})"

    def check(event: dict) -> bool:
        if event["type"] == "message":
            return needle in event["message"][field_name]
        if event["type"] == "snapshot" and "messages" in event:
            return any(needle in row[field_name] for row in event["messages"])
        return False

    return check


def queue_with(marker: str) -> Callable[[dict], bool]:
    needle = f"ref {marker}"

    def check(event: dict) -> bool:
        return event["type"] == "queue" and needle in (event["row"].get("preview") or "")

    return check


def stored_at(follower: Follower, index: int, marker: str) -> float:
    _, _, event = follower.events[index]
    rows = event["messages"] if event["type"] == "snapshot" else [event["message"]]
    row = next(r for r in rows if f"ref {marker})" in r["content"])
    return row["at"] / 1000


class Side:
    """One person's raw connections: an HTTP client with the session, the event socket (a
    writer) and a follower of one events route (a reader)."""

    def __init__(self, deployment: Deployment, cookie: str, number: int) -> None:
        self.deployment, self.cookie, self.number = deployment, cookie, number
        self.socket: Socket | None = None
        self.follower: Follower | None = None
        self.queue: Follower | None = None

    def _http(self) -> httpx.Client:
        return httpx.Client(base_url=self.deployment.api, timeout=30, headers={
            "Origin": self.deployment.site, "X-Forwarded-For": f"10.7.0.{self.number}"})

    def open_socket(self, worker: int | None) -> int:
        """The event socket, on `worker` (a pid) if given; the pid it landed on."""
        for _ in range(TRIES):
            candidate = Socket(self.deployment.api, self.cookie, self.deployment.site)
            pid = worker_of(candidate.sock, self.deployment.pids)
            if worker is None or pid == worker:
                self.socket = candidate
                return pid
            candidate.close()
        raise RuntimeError(f"{TRIES} event sockets, none on worker {worker}")

    def open_stream(self, path: str, worker: str | None, team: bool = False) -> str:
        """A follower of `path` on `worker` (an X-Served-By id) if given; the id it landed on."""
        for _ in range(TRIES):
            stream = EventStream(self._http(), path, self.cookie)
            if worker is None or stream.served_by == worker:
                follower = Follower(stream)
                if team:
                    self.queue = follower
                else:
                    self.follower = follower
                return stream.served_by
            stream.close()
        raise RuntimeError(f"{TRIES} streams of {path}, none on worker {worker}")

    def close(self) -> None:
        for follower in (self.follower, self.queue):
            if follower is not None:
                follower.close()
        if self.socket is not None:
            self.socket.close()


class BrowserPage:
    """A logged-in Chromium page on one route, stamping markers as they show, and the worker
    (X-Served-By) of the conversation stream it opened."""

    def __init__(self, browser: Browser, deployment: Deployment, login: str, password: str,
                 number: int) -> None:
        self.context = browser.new_context(base_url=deployment.site, extra_http_headers={
            "X-Forwarded-For": f"10.7.1.{number}"})
        self.page: Page = self.context.new_page()
        self.served_by: list[str] = []
        self.urls: list[str] = []
        self.page.on("request", lambda request: self.urls.append(f"{request.resource_type} {request.url}"))
        self.page.on("response", lambda response: "/api/conversations/" in response.url
                     and response.url.endswith("/events")
                     and self.served_by.append(response.headers.get("x-served-by", "")))
        page = self.page
        page.goto("/login")
        page.get_by_label("Email or username").fill(login)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/(chat|inbox)/?(\?.*)?$"))

    def open(self, path: str, ready: str, selector: str) -> None:
        self.served_by.clear()
        self.page.goto(path)
        try:
            self.page.locator(ready).first.wait_for(timeout=30_000)
            for _ in range(200):  # Playwright's sync API hands events over only inside its calls
                if self.served_by:
                    break
                self.page.wait_for_timeout(50)
            else:
                raise TimeoutError(f"{path}: the page's conversation stream did not answer in 10 s")
        except Exception:
            shot = LOGS / f"bench-handoff-{path.strip('/').split('/')[0].split('?')[0]}.png"
            self.page.screenshot(path=str(shot))
            print(f"  the page at {path} did not get ready; screenshot: {shot}; requests: {self.urls}",
                  file=sys.stderr)
            raise
        self.page.evaluate(OBSERVE, selector)

    def seen(self) -> dict[str, float]:
        return {marker: at / 1000 for marker, at in self.page.evaluate("window.__seen").items()}

    def close(self) -> None:
        self.context.close()


def start_backend(dist: Path, api_port: int, site_port: int, workers: int, redis: RedisServer | None,
                  database: DatabaseServer) -> Deployment:
    api, site = f"http://localhost:{api_port}", f"http://localhost:{site_port}"
    log = LOGS / f"bench-handoff-{workers}.log"
    log.unlink(missing_ok=True)
    db_name = f"bench_{uuid.uuid4().hex[:8]}"
    backend = Command(
        ["make", "-s", "backend", f"BACKEND_PORT={api_port}", f"WORKERS={workers}",
         f"REDIS_URL={redis.url if redis else ''}"],
        app_env(MONGODB_URI=database.uri, MONGODB_DB=db_name, API_URL=api, FRONTEND_ORIGINS=site,
                OPEN_ROUTER="", REFLEX_WEB_WORKDIR=str(dist / "web")),
        log, f"{api}/readyz").start(timeout=180)
    wait_for(lambda: len(worker_pids(backend.process.pid)) == workers, 30, f"{workers} workers listening")
    return Deployment(api, site, backend, log, database.uri, db_name, worker_pids(backend.process.pid))


def pid_of(deployment: Deployment, served_by: str) -> int:
    wait_for(lambda: served_by in worker_ids(deployment.log), 10, f"worker id {served_by} in the log")
    return worker_ids(deployment.log)[served_by]


def id_of(deployment: Deployment, pid: int) -> str:
    """The X-Served-By id of a worker pid (each worker logs it on its first HTTP request)."""
    for _ in range(TRIES * 2):
        ids = {p: i for i, p in worker_ids(deployment.log).items()}
        if pid in ids:
            return ids[pid]
        with httpx.Client(timeout=10, headers={"Connection": "close"}) as http:
            http.get(f"{deployment.api}/healthz")
    raise RuntimeError(f"worker {pid} never logged its id")


def thread_opened_by(deployment: Deployment, chat_id: str) -> int | None:
    """The worker holding the customer page's event socket: the last "thread opened" line."""
    pids = [int(m.group(1)) for line in deployment.log.read_text(errors="replace").splitlines()
            if '"thread opened"' in line and chat_id in line
            and (m := re.search(r'"pid": (\d+)', line))]
    return pids[-1] if pids else None


def measure(deployment: Deployment, args: argparse.Namespace, browser: Browser | None) -> dict:
    """One configuration: set the conversation up, place everyone, run the rounds."""
    workers = len(deployment.pids)
    http = httpx.Client(base_url=deployment.api, timeout=30, headers={
        "Origin": deployment.site, "X-Forwarded-For": "10.7.2.1"})
    customer_name, customer_cookie = sign_up(http, "cust")
    agent_name = create_agent(deployment.db_uri, deployment.db_name)
    agent_http = httpx.Client(base_url=deployment.api, timeout=30, headers={
        "Origin": deployment.site, "X-Forwarded-For": "10.7.2.2"})
    agent_cookie = log_in(agent_http, agent_name, AGENT_PASSWORD)
    customer, agent = Side(deployment, customer_cookie, 1), Side(deployment, agent_cookie, 2)
    pages: dict[str, BrowserPage] = {}
    placement: dict[str, str] = {}
    try:
        # The conversation: the customer asks for a person; it waits in the queue.
        chat_id = uuid.uuid4().hex[:16]
        customer.open_socket(None)
        customer.open_stream(f"/api/conversations/{chat_id}/events", None)
        customer.socket.emit(event_name(ChatState, "send"), {"message": {
            "client_id": uuid.uuid4().hex, "chat_id": chat_id, "text": "agent please"}}, "/chat")
        customer.follower.wait_for(lambda e: e["type"] == "conversation"
                                   and e["conversation"]["status"] == "waiting", timeout=30)
        customer.close()

        # The customer's page decides worker A (its stream); the agent's side goes to B.
        if browser is not None:
            pages["customer"] = BrowserPage(browser, deployment, customer_name, CUSTOMER_PASSWORD, 1)
            pages["customer"].open(f"/chat/{chat_id}", ".message-activity", ".message-agent .message-text")
            a_id = pages["customer"].served_by[-1]
            a = pid_of(deployment, a_id)
        else:
            a = deployment.pids[0]
            a_id = id_of(deployment, a)
        b = next((p for p in deployment.pids if p != a), a)
        b_id = id_of(deployment, b) if b != a else a_id

        agent_socket = agent.open_socket(b if workers > 1 else None)
        agent.socket.emit(event_name(InboxState, "load"), {}, f"/inbox?c={chat_id}")
        agent.socket.emit(event_name(InboxState, "claim"), {}, f"/inbox?c={chat_id}")
        agent.open_stream(f"/api/conversations/{chat_id}/events", b_id if workers > 1 else None)
        agent.open_stream("/api/inbox/events", b_id if workers > 1 else None, team=True)
        agent.follower.wait_for(lambda e: e["type"] in ("snapshot", "conversation")
                                and e["conversation"]["status"] == "assigned", timeout=30)
        if browser is not None:
            pages["agent"] = BrowserPage(browser, deployment, agent_name, AGENT_PASSWORD, 2)
            for _ in range(TRIES):
                pages["agent"].open(f"/inbox?c={chat_id}", "#composer", ".message-user .message-text")
                if workers == 1 or pages["agent"].served_by[-1] == b_id:
                    break
            else:
                raise RuntimeError(f"{TRIES} loads of the inbox page, none streaming from worker {b}")
        customer_socket = customer.open_socket(a if workers > 1 else None)
        customer.open_stream(f"/api/conversations/{chat_id}/events", a_id if workers > 1 else None)
        customer.follower.wait_for(lambda e: e["type"] == "snapshot", timeout=30)
        page_socket = thread_opened_by(deployment, chat_id) if browser is not None else None
        names = {pid: "A" if pid == a else "B" for pid in deployment.pids}

        def on(follower: Follower) -> str:
            return names[pid_of(deployment, follower.stream.served_by)]

        placement = {
            "placement: customer page stream / socket":
                f"{names[a]} / {names.get(page_socket, '?')}" if browser else "-",
            "placement: customer raw socket (writes) / stream": f"{names[customer_socket]} / "
                                                                f"{on(customer.follower)}",
            "placement: agent raw socket (writes) / stream / queue":
                f"{names[agent_socket]} / {on(agent.follower)} / {on(agent.queue)}",
            "placement: agent page stream":
                names[pid_of(deployment, pages["agent"].served_by[-1])] if browser else "-",
        }
        print(f"  {workers} worker(s), " + "; ".join(f"{k} {v}" for k, v in placement.items()),
              flush=True)

        samples = rounds(chat_id, customer, agent, args.messages + WARM_UP)[2 * WARM_UP:]
        if pages:
            time.sleep(1.0)  # the pages may still be rendering the last message
            customer_seen, agent_seen = pages["customer"].seen(), pages["agent"].seen()
            for sample in samples:
                seen = customer_seen if sample.kind == "reply" else agent_seen
                sample.page = seen.get(sample.marker, 0.0)
    finally:
        for page in pages.values():
            page.close()
        customer.close()
        agent.close()
        http.close()
        agent_http.close()
    return {"samples": samples, "placement": placement}


def rounds(chat_id: str, customer: Side, agent: Side, count: int) -> list[Sample]:
    """`count` rounds of a reply and a customer message, each waited for on the raw streams."""
    rng = random.Random(7)
    samples: list[Sample] = []
    reply, send = event_name(InboxState, "reply"), event_name(ChatState, "send")
    customer_at = agent_at = queue_at = 0
    for number in range(count):
        for kind in ("reply", "message"):
            time.sleep(rng.uniform(0.05, 0.15))
            marker = f"{kind[0]}{number}x{uuid.uuid4().hex[:6]}"
            payload = {"message": {"client_id": uuid.uuid4().hex, "chat_id": chat_id,
                                   "text": f"{kind.capitalize()} {number} (ref {marker}): on it."}}
            if kind == "reply":
                sample = Sample(kind, marker, agent.socket.emit(reply, payload, f"/inbox?c={chat_id}"))
                sample.stream, customer_at = customer.follower.wait_for(row_with(marker), customer_at, 15)
                sample.stored = stored_at(customer.follower, customer_at, marker)
            else:
                sample = Sample(kind, marker, customer.socket.emit(send, payload, f"/chat/{chat_id}"))
                sample.stream, agent_at = agent.follower.wait_for(row_with(marker), agent_at, 15)
                sample.stored = stored_at(agent.follower, agent_at, marker)
                sample.queue, queue_at = agent.queue.wait_for(queue_with(marker), queue_at, 15)
            samples.append(sample)
    return samples


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.0f} / {pct(ms, 0.99):.0f} / {max(ms):.0f} ms"


def column(result: dict) -> dict[str, str]:
    samples: list[Sample] = result["samples"]
    replies = [s for s in samples if s.kind == "reply"]
    messages = [s for s in samples if s.kind == "message"]
    browser = any(s.page for s in samples)
    rows = {}
    if browser:
        rows["agent reply -> customer's page (Chromium)"] = summary(
            [s.page - s.sent for s in replies if s.page])
        rows["customer message -> agent's inbox page (Chromium)"] = summary(
            [s.page - s.sent for s in messages if s.page])
    rows["agent reply -> customer's events stream (raw)"] = summary([s.stream - s.sent for s in replies])
    rows["customer message -> agent's conversation stream (raw)"] = summary(
        [s.stream - s.sent for s in messages])
    rows["customer message -> agent's queue row (raw team stream)"] = summary(
        [s.queue - s.sent for s in messages])
    rows["  reply: send -> stored (row's `at`)"] = summary([s.stored - s.sent for s in replies])
    rows["  reply: stored -> raw stream"] = summary([s.stream - s.stored for s in replies])
    if browser:
        rows["  reply: raw stream -> page"] = summary([s.page - s.stream for s in replies if s.page])
    rows["  message: send -> stored"] = summary([s.stored - s.sent for s in messages])
    rows["  message: stored -> raw stream"] = summary([s.stream - s.stored for s in messages])
    if browser:
        rows["  message: raw stream -> page"] = summary([s.page - s.stream for s in messages if s.page])
        rows["messages the pages never showed"] = str(sum(1 for s in samples if not s.page))
    first, last = replies[: len(replies) // 4], replies[-(len(replies) // 4):]
    if browser and first and last:
        rows["reply -> page, median of the first / last quarter"] = " / ".join(
            f"{statistics.median((s.page - s.sent) * 1000 for s in part if s.page):.0f} ms"
            for part in (first, last))
    rows.update(result["placement"])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200, help="measured messages each way")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-browser", action="store_true", help="raw readers only")
    args = parser.parse_args()
    LOGS.mkdir(exist_ok=True)
    api_port, site_port = free_port(), free_port()
    api, site = f"http://localhost:{api_port}", f"http://localhost:{site_port}"
    database = DatabaseServer().start()
    results: dict[int, dict] = {}
    warnings: list[str] = []
    with contextlib.ExitStack() as stack:
        stack.callback(database.stop)
        dist = Path(stack.enter_context(bench_dir("export")))
        print(f"make export API_URL={api} (log: test-results/export.log)…", flush=True)
        print(f"  {make_export(api, site, dist):.1f} s", flush=True)
        playwright = stack.enter_context(sync_playwright()) if not args.no_browser else None
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS) \
            if playwright else None
        site_server = Command(
            ["make", "-s", "serve-export", f"EXPORT_PORT={site_port}", f"EXPORT_DIR={dist}"],
            {}, LOGS / "bench-handoff-site.log", f"{site}/login").start(timeout=30)
        stack.callback(site_server.stop)
        for workers in args.workers:
            redis = RedisServer().start() if workers > 1 else None
            deployment = None
            try:
                print(f"{workers} worker(s): make backend WORKERS={workers}"
                      f"{' REDIS_URL=' + redis.url if redis else ''}…", flush=True)
                deployment = start_backend(dist, api_port, site_port, workers, redis, database)
                watchdog = Watchdog(deployment.backend.process.pid)
                results[workers] = measure(deployment, args, browser)
                if warning := watchdog.stop():
                    warnings.append(f"{workers} worker(s): {warning}")
            finally:
                if deployment:
                    deployment.backend.stop()
                if redis:
                    redis.stop()
        if browser:
            browser.close()

    columns = {workers: column(result) for workers, result in results.items()}
    names = list(dict.fromkeys(name for col in columns.values() for name in col))
    load = psutil.getloadavg()
    print(f"\n{datetime.date.today()}, nproc {psutil.cpu_count()}, load average {load[0]:.1f} / "
          f"{load[1]:.1f} / {load[2]:.1f}; {args.messages} messages each way per configuration, "
          f"p50 / p99 / max:\n")
    heads = [f"{w} worker" if w == 1 else f"{w} workers + Redis" for w in columns]
    print("| metric | " + " | ".join(heads) + " | target |")
    print("|---|" + "---|" * len(heads) + "---|")
    target = "p50 <= 50, p99 <= 150 ms (1 worker); p99 <= 250 ms (2)"
    targets = {"agent reply -> customer's page (Chromium)": target,
               "customer message -> agent's inbox page (Chromium)": target,
               "messages the pages never showed": "0"}
    for name in names:
        print(f"| {name} | " + " | ".join(col.get(name, "") for col in columns.values())
              + f" | {targets.get(name, '')} |")
    for warning in warnings:
        print(warning)
    print(f"\n$ {shlex.join(['.venv/bin/python', '-m', 'bench.handoff', *sys.argv[1:]])}")
    return 1 if warnings else 0


if __name__ == "__main__":
    sys.exit(main())

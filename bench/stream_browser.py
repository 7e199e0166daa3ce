"""Streaming in real Chromium against the real app: the per-answer table of issue 8.

Run from the repository root (after `scripts/setup.sh --dev`):
    .venv/bin/python -m bench.stream_browser [--runs 3] [--quick]

It starts everything itself and stops it on exit: the database (DatabaseServer), a fake
OpenRouter on loopback (a 4,000-character answer in 4-character chunks every 5 ms, ideal 5.0 s),
the app as `make run` starts it (AppServer, scripts/run.sh, built in a REFLEX_WEB_WORKDIR of the
benchmarks' own), a counting TCP proxy in front of the app, and Chromium through Playwright.
Each measured answer gets a fresh user in a fresh browser context; one unmeasured answer warms
the app and the browser up first. Medians of `--runs` runs.

How each figure is taken, over a window from just before Send is clicked until the finished
bubble is rendered, plus 300 ms to settle:
- wire bytes: TCP payload the proxy forwards app -> browser (the page talks to the app only
  through the proxy: API_URL points at it, so the event socket and the events route use it
  too), by the route of the connection's last request: the event socket (`/_event`), the
  conversation's events route (`/events`: the answer's text arrives there), other;
- decoded bytes: the DevTools protocol's `Network.webSocketFrameReceived` payloads plus
  `Network.dataReceived` lengths (bodies after decompression, including the events route's);
- visibility: an in-page MutationObserver, installed before Send, records (epoch ms from
  `performance.timeOrigin + performance.now()`, text length) of the answer whenever its length
  changes, live (`.message-live .message-text`) or finished; DOM time, not paint time. "Whole
  answer" is the first record as long as the finished bubble; first and last provider chunk
  times are the fake's `send_log` (time.time() after each write) for that request;
- CPU: user+system seconds of the app's process tree (the database is a separate process and
  not counted) and of the Chromium processes this script's Playwright started, from psutil.
Variants: a thread with 50 earlier messages, either written to the database and then opened
(/chat/<id>), or sent as 25 short turns in the same tab first; and a 16,000-character answer.
Five tabs: one context, five pages of one user, Send clicked by a timer set to the same epoch
ms in each; answers and the fake's streams are paired by order of completion.
The machine's two cores are shared with other work, so figures are noisy. It exits non-zero only
on a crash, never on a missed target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shlex
import signal
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from motor.motor_asyncio import AsyncIOMotorClient
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    Watchdog,
    app_env,
    chromium_procs,
    cpu_snapshot,
    cpu_used,
    web_workdir,
)
from chatapp.services.threads import Threads  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, sign_up  # noqa: E402
from tests.fakes.fake_openrouter import FakeOpenRouter, make_text  # noqa: E402
from tests.servers import AppServer, DatabaseServer, free_port  # noqa: E402
from tests.tcp_proxy import TcpProxy  # noqa: E402

QUESTION = "My parcel hasn't arrived yet, where is it?"
CHARS, LONG_CHARS, SHORT_CHARS, TABS, HISTORY = 4000, 16000, 300, 5, 50
SETTLE_MS = 300
ROUTES = ((b"/_event", "event socket"), (b"/events", "events route"))


def route_of(path: bytes) -> str:
    return next((name for key, name in ROUTES if key in path), "other")
DONE = ".message-assistant:not(.message-live) .message-text"

# Records (epoch ms, visible answer length, finished?) each time the new answer's visible length
# changes: its text, less the characters it still paints transparent (data-unrevealed).
OBSERVE = """(before) => {
  const rec = window.__bench = {events: []};
  const sample = () => {
    const done = document.querySelectorAll('DONE');
    const live = document.querySelector('.message-live .message-text');
    const [el, finished] = done.length > before ? [done[done.length - 1], 1] : [live, 0];
    if (!el) return;
    // Words the page has not revealed yet are in the text but painted transparent (reveal.js).
    const hidden = finished ? 0 : Number(el.closest('.message')?.dataset.unrevealed || 0);
    const n = el.textContent.length - hidden, last = rec.events[rec.events.length - 1];
    if (!last || last[1] !== n || last[2] !== finished)
      rec.events.push([performance.timeOrigin + performance.now(), n, finished]);
  };
  new MutationObserver(sample).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true,
     attributeFilter: ['data-unrevealed']});
}""".replace("'DONE'", repr(DONE))


# At document start: stamps (epoch ms, answer length it brings the text to) each delta event the
# conversation's events route hands to the page's JavaScript, before the page's own handler runs
# (a listener added in the constructor runs before `onmessage`, which the page sets after it).
DELTAS_TAP = r"""(() => {
  const seen = window.__deltas = [];
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(url, options) {
      super(url, options);
      if (String(url).includes('/api/conversations/')) this.addEventListener('message', (event) => {
        if (!event.data.startsWith('{"type":"delta"')) return;
        const delta = JSON.parse(event.data);
        seen.push([performance.timeOrigin + performance.now(), delta.at + delta.text.length]);
      });
    }
  };
})()"""


def app_tree(app: AppServer) -> list[tuple[psutil.Process, str]]:
    root = psutil.Process(app.process.pid)
    return [(p, p.name()) for p in [root, *root.children(recursive=True)]]


class Bench:
    def __init__(self, app: AppServer, fake: FakeOpenRouter, proxy: TcpProxy, browser: Browser,
                 db_uri: str, db_name: str) -> None:
        self.app, self.fake, self.proxy, self.browser = app, fake, proxy, browser
        self.db_uri, self.db_name = db_uri, db_name
        self._users = 0

    def new_user_page(self) -> tuple[Page, str]:
        self._users += 1
        context = self.browser.new_context(
            base_url=f"http://127.0.0.1:{self.proxy.port}", bypass_csp=True,  # wait_for_function
            extra_http_headers={"X-Forwarded-For": f"10.9.{self._users // 250}.{self._users % 250 + 1}"})
        context.add_init_script(DELTAS_TAP)
        page = context.new_page()
        username = f"bench_{uuid.uuid4().hex[:10]}"
        sign_up(page, username)
        return page, username

    def seed_thread(self, username: str, messages: int) -> str:
        """A thread with `messages` earlier messages (alternating question and answer), in the db."""
        async def seed() -> str:
            client = AsyncIOMotorClient(self.db_uri)
            try:
                db = client[self.db_name]
                user = await db["users"].find_one({"username_key": username.casefold()})
                owner, threads = str(user["_id"]), Threads(db)
                thread = await threads.create(owner, "Earlier questions")
                for i in range(messages):
                    user_turn = i % 2 == 0
                    await threads.add_message(
                        owner, thread.id, "user" if user_turn else "assistant",
                        f"Question {i // 2 + 1} about my order?" if user_turn else make_text(SHORT_CHARS),
                        client_id=f"seed-{i}", status="sent" if user_turn else "complete")
                return thread.id
            finally:
                client.close()

        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
            return pool.submit(lambda: asyncio.run(seed())).result()

    def send_turns(self, page: Page, turns: int) -> None:
        """`turns` short questions and answers in this tab, streamed without pauses."""
        if not turns:
            return
        self.fake.text, self.fake.delay = make_text(SHORT_CHARS), 0.0
        try:
            for i in range(turns):
                page.get_by_label("Message").fill(f"Question {i + 1} about my order?")
                page.get_by_role("button", name="Send").click()
                page.wait_for_function(f"document.querySelectorAll('{DONE}').length > {i}")
        finally:
            self.fake.delay = 0.005

    def one_answer(self, chars: int = CHARS, opened: int = 0, sent: int = 0) -> dict[str, float]:
        """One measured answer in a new thread, or in one with `opened` earlier messages loaded
        from the database, or after `sent` messages sent in this tab."""
        page, username = self.new_user_page()
        try:
            if opened:
                page.goto(f"/chat/{self.seed_thread(username, opened)}")
                page.wait_for_function(f"document.querySelectorAll('.message').length >= {opened}")
            self.send_turns(page, sent // 2)
            self.fake.text = make_text(chars)
            page.get_by_label("Message").fill(QUESTION)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            decoded, streams_opened = Counter(), []
            cdp.on("Network.webSocketFrameReceived",
                   lambda e: decoded.update(frames=len(e["response"]["payloadData"].encode())))
            cdp.on("Network.dataReceived", lambda e: decoded.update(bodies=e["dataLength"]))
            cdp.on("Network.requestWillBeSent",
                   lambda e: "/events" in e["request"]["url"] and streams_opened.append(e["wallTime"]))
            before_done = page.locator(DONE).count()
            page.evaluate(OBSERVE, before_done)  # also flushes CDP events queued so far
            log_from = len(self.fake.send_log)
            decoded.clear()
            wire = Counter(self.proxy.down)
            app0, browser0 = cpu_snapshot(app_tree(self.app)), cpu_snapshot(chromium_procs())
            clicked = time.time()
            page.get_by_role("button", name="Send").click()
            page.wait_for_function(f"document.querySelectorAll('{DONE}').length > {before_done}",
                                   timeout=180_000)
            page.wait_for_timeout(SETTLE_MS)
            wire = Counter({key: n - wire[key] for key, n in self.proxy.down.items()})
            app_cpu = cpu_used(app0, cpu_snapshot(app_tree(self.app)))
            browser_cpu = cpu_used(browser0, cpu_snapshot(chromium_procs()))
            window = time.time() - clicked
            events = page.evaluate("window.__bench.events")
            deltas = [(at / 1000, n) for at, n in page.evaluate("window.__deltas") if at / 1000 >= clicked]
            cdp.detach()
        finally:
            page.context.close()
        sends = self.fake.send_log[log_from:]
        result = visibility(events, sends, deltas)
        result.update(
            wire=wire.total(), decoded=decoded.total(), window_s=window,
            server_cpu=app_cpu.total(), browser_cpu=browser_cpu.total(),
            provider_ms=(sends[0][0] - clicked) * 1000,
            streams_opened=len(streams_opened),
            delta_ms=(deltas[0][0] - sends[0][0]) * 1000 if deltas else float("nan"),
            **{f"wire {name}": wire[name] for name in ("event socket", "events route", "other")},
            **{f"decoded {name}": decoded[name] for name in ("frames", "bodies")},
            **{f"browser {kind}": s for kind, s in browser_cpu.items()},
            **{f"server {kind}": s for kind, s in app_cpu.items()})
        print(f"  first {result['first_ms']:.0f} ms (its delta reached the page after "
              f"{result['delta_ms']:.0f} ms), whole {result['last_ms']:.0f} ms, "
              f"{result['updates']} updates ({result['per_s']:.0f}/s), "
              f"last change {result['end_ms']:.0f} ms, "
              f"wire {kb(result['wire'])}, decoded {kb(result['decoded'])}, "
              f"server {result['server_cpu']:.2f} s, browser {result['browser_cpu']:.2f} s, "
              f"events routes opened during the answer: {result['streams_opened']}", flush=True)
        return result

    def tabs_at_once(self, tabs: int = TABS) -> list[float]:
        """Lag of each tab's whole answer behind its stream's last chunk, `tabs` sending at once."""
        self.fake.text = make_text(CHARS)
        first, _ = self.new_user_page()
        pages = [first, *(first.context.new_page() for _ in range(tabs - 1))]
        try:
            for page in pages:
                page.goto("/chat")
                page.get_by_label("Message").fill(QUESTION)
                page.evaluate(OBSERVE, 0)
            log_from = len(self.fake.send_log)
            at = time.time() * 1000 + 1000
            for page in pages:
                page.evaluate("""(at) => setTimeout(() => document.querySelector(
                    'form.composer button[type=submit]').click(), at - Date.now())""", at)
            for page in pages:
                page.wait_for_function(f"document.querySelectorAll('{DONE}').length > 0",
                                       timeout=300_000)
            ends = sorted(t for t, sent in self.fake.send_log[log_from:] if sent == CHARS)
            seen = sorted(whole_visible(page.evaluate("window.__bench.events")) for page in pages)
            page.wait_for_timeout(SETTLE_MS)
            unnamed = [page.url for page in pages if not re.search(r"/chat/[0-9a-f]{16}/?$", page.url)]
        finally:
            first.context.close()
        lags = [shown - end for shown, end in zip(seen, ends, strict=True)]
        print("  lags " + ", ".join(f"{lag:.2f} s" for lag in lags), flush=True)
        if unnamed:  # each new chat takes its address with its first message (README "Chat")
            print(f"  NOTE: {len(unnamed)} of {tabs} tabs kept an address without the chat's id: "
                  f"{unnamed}", flush=True)
        return lags

    def idle_server_cpu(self, seconds: float = 3.0) -> float:
        """CPU seconds per second the app's process tree uses with nothing to do."""
        before = cpu_snapshot(app_tree(self.app))
        time.sleep(seconds)
        return cpu_used(before, cpu_snapshot(app_tree(self.app))).total() / seconds


def whole_visible(events: list[list[float]]) -> float:
    """Epoch seconds when the visible answer first had the finished bubble's length."""
    final = [n for _, n, finished in events if finished][-1]
    return next(t for t, n, _ in events if n >= final) / 1000


def visibility(events: list[list[float]], sends: list[tuple[float, int]],
               deltas: list[tuple[float, int]]) -> dict[str, float]:
    """First and whole answer against the provider's first and last chunk; distinct visible
    lengths, and their rate while the text arrives; the page's last visible change after the
    last chunk; `ahead`: the most characters ever shown live before their delta had arrived."""
    shown = [(t / 1000, n) for t, n, _ in events if n > 0]
    whole = whole_visible(events)
    lengths = {n for t, n in shown if t <= whole}
    span = max(whole - shown[0][0], 1e-3)
    arrived = [max((n for at, n in deltas if at <= t / 1000), default=0) for t, _, _ in events]
    ahead = max((n - got for (_, n, finished), got in zip(events, arrived, strict=True) if not finished),
                default=0)
    return {"first_ms": (shown[0][0] - sends[0][0]) * 1000, "last_ms": (whole - sends[-1][0]) * 1000,
            "end_ms": (shown[-1][0] - sends[-1][0]) * 1000, "ahead": ahead,
            "updates": len(lengths), "per_s": len(lengths) / span,
            "stream_s": sends[-1][0] - sends[0][0]}


def medians(results: list[dict[str, float]]) -> dict[str, float]:
    keys = dict.fromkeys(key for result in results for key in result)
    return {key: statistics.median(r.get(key, 0.0) for r in results) for key in keys}


def kb(n: float) -> str:
    return f"{n / 1000:,.1f} KB"


def seconds(s: float) -> str:
    return f"{s:.2f} s"


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for j, row in enumerate(rows):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))


def breakdown(result: dict[str, float], prefix: str) -> str:
    parts = sorted(((key[len(prefix):], s) for key, s in result.items() if key.startswith(prefix)),
                   key=lambda part: -part[1])
    return ", ".join(f"{kind} {s:.2f} s" for kind, s in parts if s >= 0.005)


def report(results: dict[str, dict[str, float]], lags: list[list[float]], idle: float, runs: int) -> None:
    def ok(good: bool) -> str:
        return "yes" if good else "NO"

    base = results["base"]
    lag, worst = statistics.median(statistics.median(run) for run in lags), max(map(max, lags))
    print(f"\nPer answer, {CHARS:,} characters in 4-character chunks every 5 ms "
          f"(ideal 5.0 s; the fake took {base['stream_s']:.2f} s), median of {runs} run(s):\n")
    print_table([
        ("metric", "value", "target", "ok"),
        ("bytes on the wire (server to browser, TCP payload)", kb(base["wire"]), "<= 10 KB",
         ok(base["wire"] <= 10_000)),
        ("bytes the page receives (decoded frames and bodies)", kb(base["decoded"]), "<= 60 KB",
         ok(base["decoded"] <= 60_000)),
        ("first answer text visible after the provider's first chunk", f"{base['first_ms']:.0f} ms",
         "<= 10 ms", ok(base["first_ms"] <= 10)),
        ("  the same in an existing thread (50 msgs opened)", f"{results['opened']['first_ms']:.0f} ms",
         "<= 10 ms", ok(results["opened"]["first_ms"] <= 10)),
        ("whole answer visible after the provider's last chunk", f"{base['last_ms']:.0f} ms",
         "<= 10 ms", ok(base["last_ms"] <= 10)),
        ("page's last visible change after the provider's last chunk", f"{base['end_ms']:.0f} ms",
         "<= 10 ms", ok(base["end_ms"] <= 10)),
        ("distinct visible updates per second while text arrives",
         f"{base['per_s']:.1f}/s ({base['updates']:.0f})", ">= 30/s", ok(base["per_s"] >= 30)),
        ("most characters shown before they arrived", f"{base['ahead']:.0f}", "0", ok(base["ahead"] <= 0)),
        ("server CPU", seconds(base["server_cpu"]), "<= 0.1 s", ok(base["server_cpu"] <= 0.1)),
        ("browser CPU (all Chromium processes)", seconds(base["browser_cpu"]), "<= 1.0 s",
         ok(base["browser_cpu"] <= 1.0)),
        (f"{TABS} tabs streaming at once in one browser: answer lag median",
         f"{lag * 1000:.0f} ms (max {worst * 1000:.0f})", "<= 20 ms", ok(lag <= 0.02)),
    ])
    print(f"\nWire bytes by route: event socket {kb(base['wire event socket'])}, events route "
          f"{kb(base['wire events route'])}, other {kb(base['wire other'])}; decoded: websocket frames "
          f"{kb(base['decoded frames'])}, bodies {kb(base['decoded bodies'])}.")
    print(f"The provider's first chunk came {base['provider_ms']:.0f} ms after Send was clicked; the page "
          f"opened {base['streams_opened']:.0f} events route(s) meanwhile (0: the conversation's stream, "
          f"opened with the page, carried the answer). The first delta reached the page's JavaScript "
          f"{base['delta_ms']:.0f} ms after the provider's first chunk (new thread; "
          f"{results['opened']['delta_ms']:.0f} ms in an opened one), and showed "
          f"{base['first_ms'] - base['delta_ms']:.0f} ms later.")
    print(f"Server CPU by process: {breakdown(base, 'server ')}; the idle app uses {idle:.3f} CPU-s/s, "
          f"{idle * base['window_s']:.2f} s over the {base['window_s']:.1f} s window.")
    print(f"Browser CPU by process: {breakdown(base, 'browser ')}.")
    print(f"\nCosts must not grow with history or length (targets: {HISTORY} earlier messages within "
          f"10% of an empty thread; {LONG_CHARS:,} characters <= 4.5x {CHARS:,} in bytes and browser CPU):\n")
    columns = (("opened", f"{HISTORY} msgs opened"), ("sent", f"{HISTORY} msgs sent in tab"),
               ("long", f"{LONG_CHARS:,} chars"))
    rows = [("per answer", "empty thread", *(cell for _, title in columns for cell in (title, "ratio")))]
    for key, label, fmt in (("wire", "bytes on the wire", kb), ("decoded", "bytes decoded", kb),
                            ("browser_cpu", "browser CPU", seconds), ("server_cpu", "server CPU", seconds)):
        rows.append((label, fmt(base[key]), *(cell for name, _ in columns for cell in (
            fmt(results[name][key]), f"{results[name][key] / base[key]:.2f}x"))))
    print_table(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs per case (medians)")
    parser.add_argument("--quick", action="store_true", help="one run per case")
    args = parser.parse_args()
    runs = 1 if args.quick else max(1, args.runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop everything in `finally`
    log_dir = ROOT / "test-results"
    log_dir.mkdir(exist_ok=True)
    database = DatabaseServer().start()
    fake = FakeOpenRouter(text=make_text(CHARS), chunk_size=4, delay=0.005).start()
    app = None
    workdir = contextlib.ExitStack()
    try:
        proxy_port = free_port()
        origin = f"http://127.0.0.1:{proxy_port}"
        db_name = f"bench_{uuid.uuid4().hex[:8]}"
        app = AppServer(app_env(
            MONGODB_URI=database.uri, MONGODB_DB=db_name, OPEN_ROUTER="bench-key",
            OPENROUTER_BASE_URL=fake.base_url, OPENROUTER_MODELS="fake/model",
            API_URL=origin, FRONTEND_ORIGINS=f"{origin},http://localhost:{proxy_port}",
            REFLEX_WEB_WORKDIR=workdir.enter_context(web_workdir()),
        ), log_dir / "bench-app.log")
        proxy = TcpProxy(proxy_port, app.port, route_of)
        print(f"Starting the app (log: {app.log_path}); the first start compiles the frontend…",
              flush=True)
        app.start()
        watchdog = Watchdog(app.process.pid)
        proxy.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            bench = Bench(app, fake, proxy, browser, database.uri, db_name)
            print("Warming up (not measured)…", flush=True)
            bench.one_answer()
            idle = bench.idle_server_cpu()
            cases = {"base": {}, "opened": {"opened": HISTORY}, "sent": {"sent": HISTORY},
                     "long": {"chars": LONG_CHARS}}
            results = {}
            for name, kwargs in cases.items():
                print(f"Measuring {name}: {runs} run(s)…", flush=True)
                results[name] = medians([bench.one_answer(**kwargs) for _ in range(runs)])
            print(f"Measuring {TABS} tabs at once: {runs} run(s)…", flush=True)
            lags = [bench.tabs_at_once() for _ in range(runs)]
            browser.close()
        report(results, lags, idle, runs)
        if warning := watchdog.stop():
            print(f"\n{warning}")
        print(f"\n$ {shlex.join(['.venv/bin/python', '-m', 'bench.stream_browser', *sys.argv[1:]])}")
        return 1 if warning else 0
    finally:
        if app:
            app.stop()
        workdir.close()
        fake.stop()
        database.stop()


if __name__ == "__main__":
    sys.exit(main())

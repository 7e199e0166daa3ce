"""Website widget: launcher click -> chat usable, and the bytes it costs (issue targets: <= 1.0 s
cold on this machine, <= 300 KB transferred).

    .venv/bin/python -m bench.widget_open [--runs 5]

It starts the real app in production mode as `make run` does (AppServer: scripts/run.sh,
`reflex run --env prod --single-port`, in the benchmarks' own REFLEX_WEB_WORKDIR), an in-memory
nx-27017 on a free port, and a company site (tests/e2e/widget_host.Site) on 127.0.0.1, listed in
WIDGET_ALLOWED_ORIGINS: another site than Helpdesk's localhost, so the chat frame is cross-site
(out of process) as on a customer's site. Chromium is launched as tests/e2e/test_widget.py does
(third-party storage partitioned, as in a user's Chrome). An unmeasured round warms the server
up; then each run has four cases:

- cold: a fresh context (empty HTTP cache, no cookie), the host page with data-preload="false"
  (nothing of the chat loads before the click): a first-time visitor.
- warm: the same context, host page loaded and clicked again: HTTP cache warm, and the guest
  session of the cold case kept (a returning visitor).
- session: a fresh context (empty cache) given the cold case's cookies: a returning visitor
  whose cache is gone, or what a first visit would cost if its frame did not have to reload.
- intent: a fresh context, the default loader (it creates the frame on pointerenter): the
  pointer on the launcher, the click 300 ms later, as a person does.

"Usable": the "Message" text area and the "Send" button both `:enabled`. Send is
`disabled={!owner}` (chatapp/components/conversation.jsx) until the server has told the page
whose outbox it is, i.e. once the frame's event socket carries a session; a first-time
visitor's frame gets one from POST /api/widget/session (GuestSession), then reloads. Times are
taken in the browser, not by polling from Playwright (a round trip per poll; a locator would run
Playwright's script in the frame): the click is the host page's trusted click event
(`performance.timeOrigin + event.timeStamp`); an init script in the frame stamps
`performance.timeOrigin + performance.now()` from a MutationObserver the moment both controls
are enabled (DOM time, before paint), and the breakdown's milestones (navigation start, document
received, DOMContentLoaded, load, websocket created / open / first Reflex event), reported
through an exposed binding. Both are the system clock (they agree to ~1 ms across Chromium's
processes), as is Playwright's request.timing, used for the session POST. CPU: user + system
seconds of Chromium's process tree and of the app's, click -> usable (psutil).

Bytes: every request of the chat frame, from Playwright's request.sizes(): the DevTools protocol's
encodedDataLength (headers + body as received, compressed; 0 when served from the HTTP cache),
by resource type; the frame's events stream is still open at the end: its headers only.
Websockets: frame payloads both ways (frame headers and the upgrade not counted). The loader's
own requests on the host page (widget.js, config) are a row apart. Medians of --runs runs, every
run listed; the machine is shared, so the load average is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import signal
import statistics
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from playwright.sync_api import Browser, Request, WebSocket, sync_playwright
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Watchdog, app_env, tree_cpu, web_workdir  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.e2e.test_widget import PLAYWRIGHT_DISABLED  # noqa: E402
from tests.e2e.widget_host import Site  # noqa: E402
from tests.servers import AppServer, DatabaseServer, free_port  # noqa: E402

TARGET_S, TARGET_KB, HOVER_MS = 1.0, 300, 300
KINDS = {"xhr": "fetch", "eventsource": "events stream (headers)"}  # other types: their own names
CASES = {"cold": 'cold (data-preload="false")', "warm": "warm (same context, again)",
         "session": "cold cache, guest session kept",
         "intent": f"intent (default loader; hover, click {HOVER_MS} ms later)"}

# In the chat frame (every document of it): milestones and "usable", through the binding __mark.
PROBE = """(() => {
  if (!location.pathname.startsWith("/widget") || window === top) return;
  const doc = performance.timeOrigin, now = () => doc + performance.now();
  const mark = (name, at) => window.__mark && window.__mark(doc, name, at ?? now());
  mark("navigation start", doc);
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      mark("ws created");
      this.addEventListener("open", () => mark("ws open"), {once: true});
      const first = (e) => { if (String(e.data).startsWith("42")) { mark("first Reflex event");
        this.removeEventListener("message", first); } };
      this.addEventListener("message", first);
    }
  };
  addEventListener("DOMContentLoaded", () => mark("DOMContentLoaded"));
  addEventListener("load", () => {
    const nav = performance.getEntriesByType("navigation")[0];
    mark("document received", doc + nav.responseEnd);
    const assets = performance.getEntriesByType("resource").filter((r) => /\\.(js|css)$/.test(r.name));
    if (assets.length) mark("scripts + css received", doc + Math.max(...assets.map((r) => r.responseEnd)));
    mark("load");
  });
  const watch = new MutationObserver(() => {
    const area = document.querySelector('textarea[aria-label="Message"]');
    const send = [...document.querySelectorAll("button")].find((b) => b.textContent.trim() === "Send");
    if (!area || !area.matches(":enabled") || !send || !send.matches(":enabled")) return;
    mark("usable");
    watch.disconnect();
  });
  watch.observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ["disabled"]});
})()"""

HOST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme</title>
<script>
const stamp = (name) => (e) => { window[name] ??= performance.timeOrigin + e.timeStamp; };
addEventListener("click", stamp("__clickAt"), true);
addEventListener("pointerover", stamp("__hoverAt"), true);
</script></head><body><h1>Acme Dental Supplies</h1><p>Our products, our prices, our people.</p>
<script src="%s/widget.js" async %s></script></body></html>"""


@dataclass
class Run:
    """One click: the host's times, the frame's marks per document, what the frame received."""
    click: float = 0.0
    hover: float = 0.0
    marks: dict[float, dict[str, float]] = field(default_factory=dict)  # doc's timeOrigin -> name -> ms
    requests: list[Request] = field(default_factory=list)  # the frame's
    host_requests: list[Request] = field(default_factory=list)  # the loader's, on the host page
    settled: set[int] = field(default_factory=set)  # id() of the requests finished or failed
    ws: list[list[int]] = field(default_factory=list)  # per socket: [bytes in, frames in, out, out]
    bytes: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # kind -> bytes, requests, cached
    session: tuple[float, float] | None = None  # POST /api/widget/session: sent, answered (epoch ms)
    cpu: tuple[float, float] = (0.0, 0.0)  # CPU s of Chromium (all processes), of the app, click -> usable

    @property
    def usable(self) -> float:
        return next(m["usable"] for m in self.marks.values() if "usable" in m)

    def seconds(self) -> float:
        return max(0.0, self.usable - self.click) / 1000

    def size(self, request: Request) -> int:
        with contextlib.suppress(PlaywrightError):  # failed with nothing received
            if id(request) in self.settled:  # sizes() of an unsettled request waits forever
                return max(0, sum(v for k, v in request.sizes().items() if k.startswith("response")))
        return 0

    def count(self) -> None:
        """Sizes and the session POST's timing, read while the context is still open."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for request in self.requests:
            if "/api/widget/session" in request.url:
                self.session = (start := request.timing["startTime"], start + request.timing["responseEnd"])
            size, kind = self.size(request), KINDS.get(request.resource_type, request.resource_type)
            out[kind] = [out[kind][0] + size, out[kind][1] + 1, out[kind][2] + (size == 0)]
        out["websocket (payloads, both ways)"] = [sum(w[0] + w[2] for w in self.ws),
                                                  sum(w[1] + w[3] for w in self.ws), 0]
        out["host page: the loader"] = [sum(map(self.size, self.host_requests)), len(self.host_requests), 0]
        self.bytes = {kind: tuple(values) for kind, values in out.items()}

    def http_kb(self) -> float:
        return sum(v[0] for k, v in self.bytes.items() if not k.startswith(("websocket", "host"))) / 1000

    def milestones(self) -> dict[str, float]:
        """"frame document <n>: name" -> ms after the click (the documents in order)."""
        out = {}
        for n, (_, marks) in enumerate(sorted(self.marks.items()), 1):
            for name, at in marks.items():
                out[f"frame document {n}: {name}"] = at - self.click
        if self.session:
            out["POST /api/widget/session sent"] = self.session[0] - self.click
            out["POST /api/widget/session answered"] = self.session[1] - self.click
        return out


class Visitor:
    """A browser context on the company's site, recording what the chat frame does."""

    def __init__(self, browser: Browser, helpdesk: str, app: psutil.Process) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.helpdesk, self.app, self.run = helpdesk, app, Run()
        self.chromium = next(p for p in psutil.Process().children(recursive=True)
                             if "chrom" in p.name() and "chrom" not in p.parent().name())
        self.context.expose_binding("__mark", self._mark)
        self.context.add_init_script(PROBE)
        self.context.on("request", self._request)
        for settled in ("requestfinished", "requestfailed"):
            self.context.on(settled, lambda request: self.run.settled.add(id(request)))
        self.page = self.context.new_page()
        self.page.on("websocket", self._socket)

    def _mark(self, _source: dict, doc: float, name: str, at: float) -> None:
        self.run.marks.setdefault(doc, {}).setdefault(name, at)

    def _request(self, request: Request) -> None:
        if request.url.startswith(self.helpdesk):
            (self.run.requests if request.frame.parent_frame else self.run.host_requests).append(request)

    def _socket(self, ws: WebSocket) -> None:
        counts = [0, 0, 0, 0]
        self.run.ws.append(counts)

        def add(at: int, payload: str | bytes) -> None:
            counts[at] += len(payload.encode() if isinstance(payload, str) else payload)
            counts[at + 1] += 1

        ws.on("framereceived", lambda payload: add(0, payload))
        ws.on("framesent", lambda payload: add(2, payload))

    def open(self, url: str, hover: bool = False, timeout: float = 30) -> Run:
        """Load the host page, click the launcher (after a hover and HOVER_MS when asked), wait
        for "usable", leave the page (which ends the frame's streams); the run."""
        self.run = Run()
        self.page.goto(url)
        launcher = self.page.get_by_role("button", name="Chat with us")
        launcher.wait_for()
        self.page.wait_for_timeout(200)  # the host page idle, as after a moment's reading
        if hover:
            launcher.hover()
            self.page.wait_for_timeout(HOVER_MS)
        cpu = tree_cpu(self.chromium), tree_cpu(self.app)
        launcher.click()
        for _ in range(int(timeout * 40)):  # marks arrive while Playwright waits on the page
            if any("usable" in m for m in self.run.marks.values()):
                break
            self.page.wait_for_timeout(25)
        else:
            raise TimeoutError(f"the widget was not usable {timeout:.0f} s after the click")
        self.run.cpu = (tree_cpu(self.chromium) - cpu[0], tree_cpu(self.app) - cpu[1])
        self.page.wait_for_timeout(300)  # the requests' last bytes
        self.run.click, self.run.hover = self.page.evaluate("[window.__clickAt, window.__hoverAt ?? 0]")
        self.page.goto("about:blank")
        self.page.wait_for_timeout(100)
        self.run.count()
        return self.run

    def close(self) -> None:
        self.context.close()


def round_of(browser: Browser, helpdesk: str, app: psutil.Process, urls: dict[str, str]) -> dict[str, Run]:
    """One run of each case."""
    runs, cookies = {}, []
    for cases, url, hover in ((("cold", "warm"), urls["false"], False), (("session",), urls["false"], False),
                              (("intent",), urls["default"], True)):
        visitor = Visitor(browser, helpdesk, app)
        try:
            if cases == ("session",):
                visitor.context.add_cookies(cookies)
            for case in cases:
                runs[case] = visitor.open(url, hover)
            cookies = visitor.context.cookies()
        finally:
            visitor.close()
    return runs


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, list[Run]], runs: int) -> None:
    load = psutil.getloadavg()
    print(f"\n{datetime.date.today()}, {platform.machine()}, nproc {os.cpu_count()}, load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; Debian Chromium through Playwright; "
          f"medians of {runs} run(s)\n")
    print("| metric | " + " | ".join(CASES[c] for c in results) + " | target |")
    print("|---|" + "---|" * len(results) + "---|")

    def row(name: str, cell, target: str = "") -> None:
        print(f"| {name} | " + " | ".join(cell(rs) for rs in results.values()) + f" | {target} |")

    def bytes_of(kind: str, rs: list[Run]) -> str:
        sizes = [r.bytes.get(kind, (0, 0, 0)) for r in rs]
        unit = "frames" if kind.startswith("websocket") else "requests"
        return f"{median([s[0] for s in sizes]) / 1000:.1f} KB, {median([s[1] for s in sizes]):.0f} {unit}"

    def requests(r: Run, column: int) -> int:
        return sum(v[column] for k, v in r.bytes.items() if not k.startswith(("websocket", "host")))

    row("click -> usable", lambda rs: f"{median([r.seconds() for r in rs]):.2f} s",
        f"<= {TARGET_S:.1f} s (cold)")
    row("  per run (s)", lambda rs: " ".join(f"{r.seconds():.2f}" for r in rs))
    row("hover -> usable", lambda rs: f"{median([(r.usable - r.hover) / 1000 for r in rs]):.2f} s"
        if rs is results.get("intent") else "")
    row("frame: HTTP bytes received", lambda rs: f"{median([r.http_kb() for r in rs]):.1f} KB",
        f"<= {TARGET_KB} KB")
    row("  per run (KB)", lambda rs: " ".join(f"{r.http_kb():.0f}" for r in rs))
    row("frame: HTTP requests (served from cache)", lambda rs: f"{median([requests(r, 1) for r in rs]):.0f} "
        f"({median([requests(r, 2) for r in rs]):.0f})")
    for kind in dict.fromkeys(k for rs in results.values() for r in rs for k in r.bytes):
        if not kind.startswith("host"):
            row(f"  {kind}", lambda rs, kind=kind: bytes_of(kind, rs))
    row("frame: page loads (documents)", lambda rs: f"{median([len(r.marks) for r in rs]):.0f}")
    row("CPU, click -> usable: Chromium (all processes) / the app", lambda rs: " / ".join(
        f"{median([r.cpu[i] for r in rs]):.2f}" for i in (0, 1)) + " s")
    row("host page, before the click: the loader (widget.js, config)",
        lambda rs: bytes_of("host page: the loader", rs))

    print("\nWhere the time goes: ms after the click, medians (the frame's documents in order)\n")
    print("| milestone | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    table = {case: [r.milestones() for r in rs] for case, rs in results.items()}
    names = list(dict.fromkeys(name for ms in table.values() for m in ms for name in m))
    names.sort(key=lambda name: (name.startswith("frame document 2"), next(  # as in the first case with it
        median(v) for ms in table.values() if (v := [m[name] for m in ms if name in m]))))
    for name in names:
        values = [[m[name] for m in ms if name in m] for ms in table.values()]
        print(f"| {name} | " + " | ".join(f"{median(v):.0f}" if v else "" for v in values) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each case (medians)")
    runs = max(1, parser.parse_args().runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop everything in `finally`
    (ROOT / "test-results").mkdir(exist_ok=True)
    database = DatabaseServer().start()
    site = Site(port=free_port()).start()
    app = None
    stack = contextlib.ExitStack()
    try:
        app = AppServer(app_env(
            MONGODB_URI=database.uri, MONGODB_DB=f"bench_{uuid.uuid4().hex[:8]}", OPEN_ROUTER="",
            WIDGET_ALLOWED_ORIGINS=site.origin, GUESTS_PER_HOUR="100000",
            REFLEX_WEB_WORKDIR=stack.enter_context(web_workdir())),
            ROOT / "test-results" / "bench-widget-open.log")
        app.env.update(API_URL=app.url, FRONTEND_ORIGINS=app.url)
        print(f"Starting the app (log: {app.log_path}); the first start builds the frontend…", flush=True)
        app.start()
        watchdog = Watchdog(app.process.pid)
        urls = {preload: site.page(f"/{preload}.html", HOST % (app.url, attribute))
                for preload, attribute in (("false", 'data-preload="false"'), ("default", ""))}
        kept = ",".join(f for f in PLAYWRIGHT_DISABLED if f != "ThirdPartyStoragePartitioning")
        results: dict[str, list[Run]] = defaultdict(list)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, f"--disable-features={kept}"],
                ignore_default_args=["--disable-features=" + ",".join(PLAYWRIGHT_DISABLED)])
            print("Warming up (not measured)…", flush=True)
            server = psutil.Process(app.process.pid)
            round_of(browser, app.url, server, urls)
            for number in range(runs):
                for case, run in round_of(browser, app.url, server, urls).items():
                    results[case].append(run)
                print(f"  run {number + 1}: " + ", ".join(
                    f"{case} {rs[-1].seconds():.2f} s" for case, rs in results.items()), flush=True)
            browser.close()
        report(results, runs)
        print(f"\ncommand: .venv/bin/python -m bench.widget_open {' '.join(sys.argv[1:])}".rstrip())
        if warning := watchdog.stop():
            print(warning)
            return 1
        return 0
    finally:
        if app:
            app.stop()
        stack.close()
        site.stop()
        database.stop()


if __name__ == "__main__":
    sys.exit(main())

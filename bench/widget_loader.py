"""Widget loader (assets/widget.js): its size, the main-thread time it costs a host page, and the
bytes it loads before the launcher is clicked.

    .venv/bin/python -m bench.widget_loader [--runs 11]

It serves a fake Helpdesk (http://localhost:P1: widget.js gzip-compressed, a stub config route
and a stub chat frame) and a company page (http://127.0.0.1:P2, about 6 KB of text, no script of
its own) with the test helpers in tests/e2e/widget_host.py, and drives Debian's Chromium through
Playwright. Every page load is a fresh browser context: cold HTTP and code caches, a renderer
process of its own. The chat frame is cross-site, so it runs in another renderer; its own work
is not the host's main thread. Four variants of the same page: the loader as shipped ("default":
the hidden frame is made when the visitor points at, touches or focuses the launcher, so not in
a page load without a visitor), with data-preload="idle" (the frame preloaded, hidden, at
idle), with data-preload="false", and no loader. Each variant is waited for the same way, by
`page.evaluate` only (a locator would run Playwright's injected script in the page): the load
event, then the frame's "ready" (idle), the launcher's element (default, false) or an idle
period (no loader), then one more idle period.

- Size: the file as served, raw and gzip (levels 9 and 6, in memory).
- Main-thread CPU added: a trace (categories `toplevel`, `devtools.timeline`) of each load; the
  sum of the thread CPU time (`tdur`) of every task on the host page's main thread, minus the
  same sum for the page without the loader (and, apart, the CPU time of widget.js's
  EvaluateScript, the only part that runs during the page's load); medians of `--runs` runs,
  whose order rotates. CPU time rather than wall
  time: on a small machine the main thread is often descheduled while Chromium's other processes
  run, which puts tens of milliseconds of noise into wall-clock figures (such as
  Performance.getMetrics' TaskDuration) that are not the page's work.
- Where it goes: a trace with Chromium's sampling profiler on (`disabled-by-default-v8.cpu_profiler`),
  summing the wall time of the host main thread inside widget.js: its evaluation (compile
  included) and every sample whose stack holds a widget.js function (the DOM calls it makes
  included), split into evaluation (at load), the config check and the launcher (at idle) and
  the frame's creation (at idle); and the longest task that ran any of it. Wall time under a
  profiler: an upper bound, for proportions.
- Bytes before a click, with data-preload="false": every request to the Helpdesk origin, from
  the DevTools protocol (bytes received, response headers included; the body decoded), until the
  launcher is shown and the page has been idle twice. With the default preload the only other
  request before a click is the frame's page (/widget/), at idle: the Helpdesk's page, not the
  loader, so not counted here.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import itertools
import json
import os
import platform
import statistics
import sys
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.widget_host import WIDGET_JS, FakeHelpdesk, Site  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGET_GZIP = 10_000
TARGET_MS = 5.0
RUN_TASK = "ThreadControllerImpl::RunTask"
IDLE = "new Promise((done) => requestIdleCallback(() => requestIdleCallback(done)))"
LOADED = "new Promise((done) => document.readyState === 'complete' ? done() : addEventListener('load', done))"
READY = "new Promise((done) => Helpdesk.on('ready', done))"
MOUNTED = """new Promise((done) => { const found = () => document.querySelector("helpdesk-widget");
  if (found()) return done();
  const watch = new MutationObserver(() => found() && (watch.disconnect(), done()));
  watch.observe(document.body, {childList: true}); })"""
SETTLED = {"default": MOUNTED, "idle": READY, "no preload": MOUNTED, "without": IDLE}
VARIANTS = ("default", "idle", "no preload")  # the loader's, in the table's columns
PARAGRAPH = ("Our next-day delivery covers the whole country for orders placed before 4 pm. Each "
             "product page lists stock by warehouse, and the order history keeps every invoice. ")

Interval = tuple[float, float, str]  # start and end (µs, trace clock), label


def company_page(script: str) -> str:
    sections = "\n".join(f"<section><h2>Section {i}</h2><p>{PARAGRAPH * 3}</p>"
                         f"<ul><li>Item one</li><li>Item two</li><li>Item three</li></ul></section>"
                         for i in range(1, 13))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Company</title>
<style>body{{font:16px/1.5 system-ui;margin:0 auto;max-width:800px;padding:0 16px}}</style></head>
<body><header><h1>Company</h1><nav><a href="#a">Products</a> <a href="#b">Contact</a></nav></header>
<main>{sections}</main>
<footer>Company footer</footer>
{script}</body></html>"""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def traced_load(browser: Browser, url: str, variant: str, categories: list[str]) -> list[dict]:
    """Load `url` in a fresh context under a trace; its events."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page: Page = context.new_page()
        browser.start_tracing(page=page, categories=categories)
        page.goto(url)
        page.evaluate(LOADED)
        page.evaluate(SETTLED[variant])
        page.evaluate(IDLE)
        trace = json.loads(browser.stop_tracing())
    finally:
        context.close()
    return trace["traceEvents"] if isinstance(trace, dict) else trace


def host_thread(events: list[dict], url: str) -> tuple[int, int]:
    """(pid, tid) of the main thread that parsed the page at `url`."""
    return next((e["pid"], e["tid"]) for e in events if e.get("name") == "ParseHTML"
                and e.get("args", {}).get("beginData", {}).get("url") == url)


def main_thread_cpu_ms(browser: Browser, url: str, variant: str, script_url: str) -> tuple[float, float]:
    """CPU ms of all tasks on the page's main thread, and of the script's evaluation."""
    events = traced_load(browser, url, variant, ["toplevel", "devtools.timeline"])
    pid, tid = host_thread(events, url)
    mine = [e for e in events if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X"]
    return (sum(e.get("tdur", 0) for e in mine if e["name"] == RUN_TASK) / 1000,
            sum(e.get("tdur", 0) for e in mine if e["name"] == "EvaluateScript"
                and e.get("args", {}).get("data", {}).get("url") == script_url) / 1000)


def in_script(events: list[dict], script_url: str) -> tuple[list[Interval], int, int]:
    """Main-thread intervals inside `script_url` on the renderer that ran it, labelled
    "(evaluation)" (the script's own run), "ensureFrame" (when it is on the stack) or the
    outermost widget.js function; and that renderer's main thread."""
    evaluate = next(e for e in events if e.get("name") == "EvaluateScript"
                    and e.get("args", {}).get("data", {}).get("url") == script_url)
    pid, tid = evaluate["pid"], evaluate["tid"]
    begin, finish = evaluate["ts"], evaluate["ts"] + evaluate["dur"]
    intervals: list[Interval] = [(begin, finish, "(evaluation)")]
    profiles: dict[str, dict] = {e["id"]: {"start": e["args"]["data"]["startTime"], "nodes": {},
                                           "samples": [], "deltas": []}
                                 for e in events if e.get("name") == "Profile" and e.get("pid") == pid}
    for event in events:
        if event.get("name") == "ProfileChunk" and event.get("pid") == pid and event["id"] in profiles:
            profile, data = profiles[event["id"]], event["args"]["data"]
            for node in data.get("cpuProfile", {}).get("nodes", []):
                profile["nodes"][node["id"]] = node
            profile["samples"] += data.get("cpuProfile", {}).get("samples", [])
            profile["deltas"] += data.get("timeDeltas", [])
    for profile in profiles.values():
        when, stamps = profile["start"], []
        for sample, delta in zip(profile["samples"], profile["deltas"], strict=False):
            when += delta
            stamps.append((when, sample))
        for (start, sample), (end, _) in itertools.pairwise(stamps):
            name = _outermost(profile["nodes"], sample, script_url)
            if name:
                inside = begin <= start and end <= finish
                intervals.append((start, end, "(evaluation)" if inside else name))
    return intervals, pid, tid


def _outermost(nodes: dict[int, dict], node_id: int | None, script_url: str) -> str | None:
    found = None
    while node_id is not None and node_id in nodes:
        frame = nodes[node_id]["callFrame"]
        if frame.get("url") == script_url:
            found = frame.get("functionName") or "(anonymous)"
            if found == "ensureFrame":
                return found
        node_id = nodes[node_id].get("parent")
    return found


def union_ms(intervals: list[Interval]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end, _ in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total / 1000


def attributed(browser: Browser, url: str, variant: str, script_url: str) -> dict[str, float]:
    events = traced_load(browser, url, variant,
                         ["toplevel", "devtools.timeline", "v8", "disabled-by-default-v8.cpu_profiler"])
    intervals, pid, tid = in_script(events, script_url)
    tasks = [(e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == RUN_TASK
             and e.get("pid") == pid and e.get("tid") == tid and e.get("dur")]
    total = union_ms(intervals)
    evaluation = union_ms([i for i in intervals if i[2] == "(evaluation)"])
    frame = union_ms([i for i in intervals if i[2] == "ensureFrame"])
    return {"total": total, "evaluation": evaluation, "frame": frame, "launcher": total - evaluation - frame,
            "longest task": max((end - start for start, end in tasks
                                 if any(start <= a and b <= end for a, b, _ in intervals)), default=0) / 1000}


def bytes_before_click(browser: Browser, url: str, helpdesk_origin: str) -> list[dict]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        requests: dict[str, dict] = {}

        def add(event: dict, **values) -> None:
            if event["requestId"] in requests:
                requests[event["requestId"]].update(values)

        cdp.on("Network.requestWillBeSent", lambda e: requests.setdefault(
            e["requestId"], {"url": e["request"]["url"], "headers": 0, "total": 0, "body": 0}))
        cdp.on("Network.responseReceived",
               lambda e: add(e, headers=e["response"].get("encodedDataLength", 0)))
        cdp.on("Network.loadingFinished", lambda e: add(e, total=e["encodedDataLength"]))
        cdp.on("Network.dataReceived",
               lambda e: add(e, body=requests[e["requestId"]]["body"] + e["dataLength"]))
        cdp.send("Network.enable")
        page.goto(url)
        page.get_by_role("button", name="Chat with us").wait_for()
        page.evaluate(IDLE)
        page.evaluate(IDLE)
        return [r for r in requests.values() if r["url"].startswith(helpdesk_origin)]
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per measurement (medians are reported)")
    runs = max(1, parser.parse_args().runs)

    source = WIDGET_JS.read_bytes()
    gzip9, gzip6 = (len(gzip.compress(source, level, mtime=0)) for level in (9, 6))

    helpdesk, site = FakeHelpdesk().start(), Site().start()
    helpdesk.allowed = {site.origin}
    tag = f'<script src="{helpdesk.script_url}" async></script>'
    urls = {"default": site.page("/default.html", company_page(tag)),
            "idle": site.page("/idle.html", company_page(tag.replace("async", 'async data-preload="idle"'))),
            "no preload": site.page("/no-preload.html",
                                    company_page(tag.replace("async", 'async data-preload="false"'))),
            "without": site.page("/without.html", company_page(""))}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for variant, url in urls.items():  # warm up the browser and the servers, unmeasured
                main_thread_cpu_ms(browser, url, variant, helpdesk.script_url)
            cpu: dict[str, list[float]] = {variant: [] for variant in urls}
            evaluation: dict[str, list[float]] = {variant: [] for variant in urls}
            order = list(urls.items())
            for run in range(runs):
                for variant, url in order[run % len(order):] + order[:run % len(order)]:
                    total, script = main_thread_cpu_ms(browser, url, variant, helpdesk.script_url)
                    cpu[variant].append(total)
                    evaluation[variant].append(script)
            split = {variant: [attributed(browser, urls[variant], variant, helpdesk.script_url)
                               for _ in range(runs)] for variant in VARIANTS}
            requests = bytes_before_click(browser, urls["no preload"], helpdesk.origin)
            browser.close()
    finally:
        helpdesk.stop()
        site.stop()

    added = {variant: [a - b for a, b in zip(cpu[variant], cpu["without"], strict=True)]
             for variant in VARIANTS}

    def row(label: str, values, target: float | None = None, unit: str = "ms") -> tuple[str, ...]:
        default, idle, no_preload = (median(values(variant)) for variant in VARIANTS)
        ok = "" if target is None else "yes" if default <= target else "no"
        return (label, f"{default:.1f} {unit}", f"{idle:.1f} {unit}", f"{no_preload:.1f} {unit}",
                "" if target is None else f"<= {target:g} {unit}", ok)

    rows = [
        ("loader size, raw", f"{len(source):,} B", "", "", "", ""),
        ("loader size, gzip -9 (-6)", f"{gzip9:,} B ({gzip6:,} B)", "", "", f"<= {TARGET_GZIP:,} B",
         "yes" if gzip9 <= TARGET_GZIP else "no"),
        row("main-thread CPU added to the page", added.get, TARGET_MS),
        row("  of which at load: evaluating widget.js", evaluation.get, TARGET_MS),
        row("  the page without the loader (reference)", lambda v: cpu["without"]),
        row("in widget.js (wall time under the profiler)", lambda v: [s["total"] for s in split[v]]),
        row("  at load: evaluating the script", lambda v: [s["evaluation"] for s in split[v]]),
        row("  at idle: config check + launcher", lambda v: [s["launcher"] for s in split[v]]),
        row("  at idle: creating the hidden frame", lambda v: [s["frame"] for s in split[v]]),
        row("longest task running widget.js code", lambda v: [s["longest task"] for s in split[v]], 50),
    ]
    for request in requests:
        path = "/" + request["url"].split("/", 3)[-1].split("?")[0]
        size = f"{request['total']:,} B (headers {request['headers']:,} B, {request['body']:,} B decoded)"
        rows.append((f"before a click: {path}", "", "", size, "", ""))
    received = sum(r["total"] for r in requests)
    rows.append(("before a click: requests, bytes received", "", "", f"{len(requests)}, {received:,} B",
                 "2 (script, config)", "yes" if len(requests) == 2 else "no"))

    header = ("metric", "default (on intent)", 'data-preload="idle"', 'data-preload="false"', "target", "ok")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
    print(f"Widget loader, medians of {runs} run(s); {datetime.date.today()}, {platform.machine()},"
          f" {os.cpu_count()} CPUs, Debian Chromium through Playwright\n")
    for r in [header, tuple("-" * w for w in widths), *rows]:
        cells = [r[0].ljust(widths[0]), *(r[i].rjust(widths[i]) for i in (1, 2, 3, 4)), r[5]]
        print("  ".join(cells).rstrip())
    for variant in VARIANTS:
        per_run = ", ".join(f"{v:.1f}" for v in added[variant])
        print(f"\nCPU added per run, {variant} (ms): {per_run}", end="")
    print(f"\n\ncommand: .venv/bin/python -m bench.widget_loader --runs {runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Several workers: 100 concurrent streaming chats against 1 worker and against 2 workers + Redis.

Each configuration gets a fresh database, a fake OpenRouter (4,000 characters in 4-character
chunks every 5 ms: ideal 5.0 s) and the backend started by the operator's command,
`make -s backend BACKEND_PORT=<port> WORKERS=<n> REDIS_URL=<url>` (1 worker without Redis; 2
workers with a fresh redis-server), logging JSON lines to test-results/bench-workers-<n>.log.
The raw clients are bench.stream_sockets' (sign-up over HTTP, the Reflex event socket spoken
by hand, the answer followed on the conversation's events route, opened before the question is
sent, as the page opens it). Each client's socket and its events route are separate connections,
so with 2 workers a reader is on the other worker than the writer about half the time.

The clients are spread over --client-processes processes (threads within each; one process
holding 100 client threads spent more CPU on its GIL than the app did, on the same two cores),
and every party's CPU over the phase is printed: the backend, Redis, the database, the fake
provider, the clients.

Before the phases, a few answers are written until every worker has written one (a worker's
first answer loads the speller's word list: start-up, not load).

- Phase 1: --clients clients connect, then all send one question at the same instant. Completion
  is send -> done; errors are exceptions, answers whose streamed text differs from the provider's,
  and answers without a done event. Backend CPU is the command's whole process tree (all workers),
  Redis CPU the redis-server process (psutil). Which worker holds each event socket is read from
  the backend's log: the worker holding a socket logs "answer started" with its pid. (The
  websocket handshake carries no X-Served-By header.)
- Phase 2: --conversation-clients clients each hold a 10-turn conversation in one thread (turns
  sequential, clients concurrent). The history-cache hit ratio is the change in hits / (hits +
  misses) summed over the workers: /api/health is read over fresh connections until every
  worker (its X-Served-By id) has answered, before and after.

The fake provider runs in its own process (stream_sockets.FakeProcess), so the 100 client threads'
GIL does not slow it; it sends back the times its first and last text chunks went out
(FakeOpenRouter.send_log, same clock), and the median of last minus first, pairing them in order,
is its own stream duration, printed as a reference row.

    .venv/bin/python -m bench.workers [--clients 100] [--conversation-clients 20] [--client-processes 4]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import statistics
import sys
import time
import uuid

import httpx
import psutil

from bench.common import Watchdog, app_env, pct, tree_cpu, web_workdir
from bench.stream_sockets import FakeProcess, Turn, run_concurrent
from tests.fakes.fake_openrouter import make_text
from tests.servers import ROOT, Command, DatabaseServer, RedisServer, free_port

CHARS = 4000
IDEAL = CHARS / 4 * 0.005
TURNS = 10


def warm_up(url: str, log_path, workers: int, processes: int) -> None:
    """Answers until every worker has written one: a worker's first answer loads the knowledge
    base's speller (its English word list), about half a second of one core, which belongs to
    start-up, not to the measured burst."""
    for attempt in range(5):
        run_concurrent(url, list(range(5000 + attempt * 10, 5006 + attempt * 10)), "warm up {index}",
                       processes=min(processes, 2))
        pids = {json.loads(line)["pid"] for line in log_path.read_text(errors="replace").splitlines()
                if '"answer started"' in line and line.startswith("{")}
        if len(pids) >= workers:
            return
    raise RuntimeError(f"after 5 rounds of 6 answers, only workers {sorted(pids)} had answered")


def cache_stats(url: str, workers: int) -> dict[str, dict]:
    """/api/health's history_cache per worker (X-Served-By), over fresh connections until all answered."""
    stats: dict[str, dict] = {}
    for _ in range(200):
        with httpx.Client(timeout=10, headers={"Connection": "close"}) as http:
            response = http.get(f"{url}/api/health")
        stats[response.headers["x-served-by"]] = response.json()["history_cache"]
        if len(stats) == workers:
            return stats
    raise RuntimeError(f"only workers {sorted(stats)} answered /api/health in 200 tries")


def measure(workers: int, args: argparse.Namespace, text: str) -> dict[str, str]:
    """Start one configuration, run both phases, stop everything; the table's column."""
    (ROOT / "test-results").mkdir(exist_ok=True)
    fake: FakeProcess | None = None
    database, redis = DatabaseServer(), RedisServer() if workers > 1 else None
    port = free_port()
    url = f"http://localhost:{port}"
    backend = None
    column: dict[str, str] = {}
    stack = contextlib.ExitStack()
    try:
        workdir = stack.enter_context(web_workdir())
        database.start()
        if redis:
            redis.start()
        fake = FakeProcess(CHARS)
        backend = Command(
            ["make", "-s", "backend", f"BACKEND_PORT={port}", f"WORKERS={workers}",
             f"REDIS_URL={redis.url if redis else ''}"],
            app_env(MONGODB_URI=database.uri, MONGODB_DB=f"bench_{uuid.uuid4().hex[:8]}",
                    OPEN_ROUTER="bench-key", OPENROUTER_BASE_URL=fake.base_url,
                    OPENROUTER_MODELS="fake/model",
                    FRONTEND_ORIGINS=url,  # Client sends its base URL as Origin
                    REFLEX_WEB_WORKDIR=workdir),  # keep the checkout's .web out of it
            ROOT / "test-results" / f"bench-workers-{workers}.log", f"{url}/readyz",
        ).start(timeout=180)
        server = psutil.Process(backend.process.pid)
        watchdog = Watchdog(backend.process.pid)
        redis_process = psutil.Process(redis.process.pid) if redis else None

        warm_up(url, backend.log_path, workers, args.client_processes)

        # Phase 1: N chats sent at the same instant (clients in processes of their own).
        others = {"database": psutil.Process(database.process.pid), "fake provider": fake.process}
        marks: dict[str, float] = {}

        def on_start() -> None:  # the clients are connected and about to send
            marks.update({name: tree_cpu(proc) for name, proc in others.items()},
                         backend=tree_cpu(server), log=backend.log_path.stat().st_size,
                         fake=len(fake.send_log), began=time.monotonic(),
                         redis=sum(redis_process.cpu_times()[:2]) if redis_process else 0.0)

        found, client_cpu = run_concurrent(url, list(range(args.clients)),
                                           "Question {index}: how do I reset my password?",
                                           processes=args.client_processes, on_start=on_start)
        spent = tree_cpu(server) - marks["backend"]
        redis_spent = sum(redis_process.cpu_times()[:2]) - marks["redis"] if redis_process else 0.0
        wall = time.monotonic() - marks["began"]
        others_spent = {name: tree_cpu(proc) - marks[name] for name, proc in others.items()}
        others_spent["bench clients"] = client_cpu
        mark = int(marks["fake"])
        results = [(talk[0] if talk else None, error) for talk, error in found]
        with backend.log_path.open("rb") as log:  # the worker holding a socket writes its answers
            log.seek(int(marks["log"]))
            sockets = [json.loads(line)["pid"] for line in log if b'"answer started"' in line]
        turns: list[Turn] = [turn for turn, _ in results if turn and turn.done_at]
        errors = [error for _, error in results if error]
        wrong = sum(turn.text != text for turn in turns)
        undone = len(results) - len(turns) - len(errors)
        if not turns:
            raise RuntimeError(f"no answer completed; first error: {errors[:1]}")
        sent = fake.send_log[mark:]
        firsts = sorted(at for at, chars in sent if chars <= 4)
        lasts = sorted(at for at, chars in sent if chars == CHARS)
        provider = statistics.median(b - a for a, b in zip(firsts, lasts, strict=False))
        completions = [t.done_at - t.sent_at for t in turns]
        gaps = [(b - a) * 1000 for t in turns for a, b in zip(t.events, t.events[1:], strict=False)]
        median, p95 = statistics.median(completions), pct(completions, 0.95)
        column.update({
            "completion, median (send -> done)": f"{median:.2f} s (+{median / IDEAL - 1:.0%})",
            "completion, p95": f"{p95:.2f} s (+{p95 / IDEAL - 1:.0%})",
            "the fake provider's own stream, median": f"{provider:.2f} s",
            "completion minus the provider's stream (app-added)": f"{median - provider:.2f} s",
            "gap between updates, p99": f"{pct(gaps, 0.99):.0f} ms",
            "updates per answer, median": f"{statistics.median(len(t.events) for t in turns):.0f}",
            "errors": f"{len(errors) + wrong + undone} ({len(errors)} exceptions, {wrong} wrong"
                      f" texts, {undone} without done)",
            "backend CPU per answer (all workers)": f"{spent / args.clients:.3f} s",
            "Redis CPU per answer": f"{redis_spent / args.clients:.3f} s" if redis else "-",
            "CPU s: backend / Redis / database / fake / bench clients": " / ".join(
                [f"{spent:.1f}", f"{redis_spent:.1f}" if redis else "-",
                 *(f"{v:.1f}" for v in others_spent.values())]) + f" over {wall:.1f} s "
                f"({(spent + redis_spent + sum(others_spent.values())) / wall:.2f} cores)",
            "event sockets per worker": " / ".join(str(sockets.count(pid)) for pid in sorted(set(sockets))),
        })
        for error in errors[:3]:
            print(f"{workers} worker(s), 1 question each: {error}", file=sys.stderr)

        # Phase 2: conversations of 10 turns, one thread each.
        before: dict[str, dict] = {}
        results, _ = run_concurrent(
            url, [1000 + number for number in range(args.conversation_clients)],
            "Follow-up {turn} from {index} about billing", turns=TURNS,
            processes=args.client_processes,
            on_start=lambda: before.update(cache_stats(url, workers)))
        after = cache_stats(url, workers)
        hits = sum(after[pid]["hits"] - before[pid]["hits"] for pid in after)
        misses = sum(after[pid]["misses"] - before[pid]["misses"] for pid in after)
        talks = [talk for talk, _ in results if talk]
        column[f"history cache hit ratio ({args.conversation_clients} x {TURNS} turns)"] = (
            f"{hits / max(1, hits + misses):.0%} ({hits} hits, {misses} misses)")
        column["conversation errors"] = str(sum(1 for _, error in results if error) + sum(
            t.text != text or not t.done_at for talk in talks for t in talk))
        column[f"event-socket bytes per turn, turn 1 / turn {TURNS} (median)"] = " / ".join(
            f"{statistics.median(talk[n].socket_bytes for talk in talks) / 1000:.1f} KB" for n in (0, -1))
        column[f"events-route bytes per turn (gzip), turn 1 / turn {TURNS} (median)"] = " / ".join(
            f"{statistics.median(talk[n].live_bytes for talk in talks) / 1000:.1f} KB" for n in (0, -1))
        for error in [error for _, error in results if error][:3]:
            print(f"{workers} worker(s), conversations: {error}", file=sys.stderr)
        if warning := watchdog.stop():
            column["WARNING"] = warning
    finally:
        if backend:
            backend.stop()
        if fake:
            fake.stop()
        if redis:
            redis.stop()
        database.stop()
        stack.close()
    return column


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--conversation-clients", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=4,
                        help="processes the clients are spread over")
    args = parser.parse_args()
    text = make_text(CHARS)
    one, two = measure(1, args, text), measure(2, args, text)
    targets = {"completion, median (send -> done)": f"<= {IDEAL * 1.1:.2f} s (ideal {IDEAL:.1f} s + 10%)",
               "completion, p95": f"(ideal {IDEAL:.1f} s)", "gap between updates, p99": "<= 150 ms",
               "the fake provider's own stream, median": "(reference)",
               "updates per answer, median": ">= 50", "errors": "0", "conversation errors": "0",
               "backend CPU per answer (all workers)": "<= 0.2 s"}
    nproc = len(os.sched_getaffinity(0))
    print(f"\n{datetime.date.today()}, nproc {nproc}, {args.clients} concurrent chats\n")
    print("| metric | 1 worker | 2 workers + Redis | target |\n|---|---|---|---|")
    for name in dict.fromkeys([*one, *two]):
        target = targets.get(name, ">= 90%" if name.startswith("history") else "")
        print(f"| {name} | {one.get(name, '')} | {two.get(name, '')} | {target} |")
    print(f"\ncommand: .venv/bin/python -m bench.workers {' '.join(sys.argv[1:])}".rstrip())
    return 1 if "WARNING" in one or "WARNING" in two else 0


if __name__ == "__main__":
    raise SystemExit(main())

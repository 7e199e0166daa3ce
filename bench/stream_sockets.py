"""Streaming without a browser: raw event-socket clients against the app started as `make run`.

Each client signs up over HTTP, opens the Reflex event socket (socket.io over a websocket,
spoken by hand), opens /chat as the page does (`ChatState.load` names the new chat: its draft
id), opens that conversation's events route at once (`GET /api/conversations/<id>/events`,
gzip, as the page's EventSource does), then sends its question with `ChatState.send`
({client_id, chat_id, text}) and follows the answer on the events route: the "message" row of the
answer being written, its "delta" events (only the part beyond the text already shown is
applied), and the final "message" row (complete). A fake OpenRouter on loopback, in a process of
its own, streams the issue's workload: 4,000 characters in 4-character chunks every 5 ms.

Prints, with the issue's targets:
- app-added time to first token, 1 chat at a time (fake's first chunk -> first delta with text);
- bytes per answer: event-socket frames + the events route's body (gzip, as it arrived; and
  inflated);
- N concurrent chats (the clients spread over `--client-processes` processes, all sending at
  one instant): completion time (send -> final row) and the gaps between visible updates, with
  the CPU every party used (the app, the database, the fake, the clients);
- backend CPU per answer (the app's whole process tree, from psutil);
- history cache hit ratio over a 10-turn conversation (from /api/health).

    .venv/bin/python -m bench.stream_sockets [--clients 50] [--single 20] [--chars 4000]
                                             [--client-processes 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psutil

from bench.common import (
    EventStream,
    Socket,
    Watchdog,
    app_env,
    delta_field,
    event_name,
    pct,
    sign_up,
    state_key,
    tree_cpu,
    web_workdir,
)
from bench.mongo_wire import MongoCounter
from chatapp.state.chat import ChatState
from tests.fakes.fake_openrouter import FakeOpenRouter, make_text
from tests.servers import ROOT, AppServer, DatabaseServer

SEND_EVENT = event_name(ChatState, "send")
LOAD_EVENT = event_name(ChatState, "load")
STATE_KEY = state_key(ChatState)
ANSWER_SUFFIX = ":answer"


@dataclass
class Turn:
    """What one client saw of one answer (times are time.time())."""

    sent_at: float = 0.0
    events: list[float] = field(default_factory=list)  # each time the shown answer grew
    done_at: float = 0.0
    socket_bytes: int = 0  # event-socket frames received during the turn
    live_bytes: int = 0  # events route body, as it arrived (gzip)
    live_decoded: int = 0  # the same, inflated
    text: str = ""
    status: str = ""


class Refused(Exception):
    """The server would not store the message (ChatState.refused says why)."""


class Client:
    """One logged-in user with an open event socket and the open conversation's events route,
    sending like the chat page does."""

    def __init__(self, base_url: str, number: int, origin: str | None = None) -> None:
        self.base = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30,
                                 headers={"X-Forwarded-For": f"10.9.{number // 250}.{number % 250}"})
        self.name, self.cookie = sign_up(self.http)
        self.socket = Socket(base_url, self.cookie, origin)
        self.stream: EventStream | None = None
        self.new_chat()

    def new_chat(self) -> None:
        """Open /chat as the page does: the load names the new chat, whose stream the page opens
        at once (it waits, open, until the first message creates the conversation)."""
        if self.stream is not None:
            self.stream.close()
        self.path = "/chat"
        self.socket.drain()
        self.socket.emit(LOAD_EVENT, {}, self.path)
        self.chat_id = self.socket.wait_update(delta_field(ChatState, "thread_id"))
        self.stream = EventStream(self.http, f"/api/conversations/{self.chat_id}/events", self.cookie)

    def _refusal(self) -> str | None:
        """A refusal pushed on the socket since the last look (other updates are dropped)."""
        while True:
            try:
                _, _, update = self.socket.updates.get_nowait()
            except queue.Empty:
                return None
            refused = update.get("delta", {}).get(STATE_KEY, {}).get("refused_rx_state_")
            if refused:
                return refused[-1].get("reason", "refused")

    def ask(self, question: str, timeout: float = 120) -> Turn:
        """Send a question and follow its answer on the events route until its final row."""
        assert self.stream is not None
        client_id = uuid.uuid4().hex
        answer_client_id = client_id + ANSWER_SUFFIX
        socket0, wire0, decoded0 = self.socket.bytes, self.stream.wire, self.stream.decoded
        turn = Turn()
        turn.sent_at = self.socket.emit(SEND_EVENT, {"message": {
            "client_id": client_id, "chat_id": self.chat_id, "text": question}}, self.path)
        answer_id, shown = None, ""
        deadline = time.monotonic() + timeout
        while not turn.done_at:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no final answer within {timeout:.0f} s")
            at, _, event = self.stream.next()
            kind = event["type"]
            rows = (event["messages"] if kind == "snapshot"
                    else [event["message"]] if kind == "message" else [])
            for row in rows:
                if row["client_id"] != answer_client_id:
                    continue
                answer_id = row["id"]
                if row["status"] != "writing":  # the final row: the stored answer
                    if row["content"] != shown:
                        turn.events.append(at)
                    shown, turn.status, turn.done_at = row["content"], row["status"], at
                elif len(row["content"]) > len(shown):
                    shown = row["content"]
                    turn.events.append(at)
            if kind == "delta" and event["id"] == answer_id:
                start, piece = event["at"], event["text"]
                if start > len(shown):
                    raise RuntimeError(f"a delta at {start} past the {len(shown)} characters shown")
                if start + len(piece) > len(shown):
                    shown = shown[:start] + piece
                    turn.events.append(at)
            if reason := self._refusal():
                raise Refused(reason)
        self.path = f"/chat/{self.chat_id}"  # the page takes the conversation's address
        turn.text = shown
        turn.socket_bytes = self.socket.bytes - socket0
        turn.live_bytes = self.stream.wire - wire0
        turn.live_decoded = self.stream.decoded - decoded0
        return turn

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
        self.socket.close()
        self.http.close()


def _client_process(conn, base_url: str, numbers: list[int], turns: int, prompt: str) -> None:
    """One process's share of the concurrent clients: connect them all, say "ready", wait for
    the common start time, then each asks `turns` questions in its own thread; send back
    [(number, [Turn, ...] or None, error text or None)]."""
    clients: dict[int, Client] = {}
    failed: dict[int, str] = {}
    for number in numbers:
        try:
            clients[number] = Client(base_url, number)
        except Exception as error:  # noqa: BLE001 - reported with the results
            failed[number] = repr(error)
    conn.send("ready")
    start_at = conn.recv()
    cpu = time.process_time()
    results: dict[int, tuple[list[Turn] | None, str | None]] = {
        number: (None, error) for number, error in failed.items()}

    def run(number: int) -> None:
        time.sleep(max(0.0, start_at - time.time()))
        try:
            results[number] = ([clients[number].ask(prompt.format(index=number, turn=turn))
                                for turn in range(turns)], None)
        except Exception as error:  # noqa: BLE001 - counted and printed
            results[number] = (None, repr(error))

    threads = [threading.Thread(target=run, args=(number,)) for number in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu
    for client in clients.values():
        client.close()
    conn.send(([(number, *results[number]) for number in numbers], cpu))


def run_concurrent(base_url: str, numbers: list[int], prompt: str, turns: int = 1,
                   processes: int = 4, on_start: Callable[[], None] | None = None,
                   ) -> tuple[list[tuple[list[Turn] | None, str | None]], float]:
    """Clients `numbers`, spread over `processes` processes (threads within each), connected
    first, then all starting at the same instant (a time every process waits for; `on_start` is
    called just before it is given out): per client ([Turn, ...], None) or (None, the error),
    and the CPU seconds the client processes used from the start to their last answer. One
    Python process holding 100 client threads spends more CPU on its GIL than on the clients'
    work, on the cores the app needs; several processes do not."""
    context = multiprocessing.get_context("spawn")
    shares = [numbers[i::processes] for i in range(processes) if numbers[i::processes]]
    pipes, children = [], []
    for share in shares:
        mine, theirs = context.Pipe()
        child = context.Process(target=_client_process, args=(theirs, base_url, share, turns, prompt),
                                daemon=True)
        child.start()
        pipes.append(mine)
        children.append(child)
    try:
        for pipe in pipes:
            if pipe.recv() != "ready":
                raise RuntimeError("a client process failed to start")
        if on_start:
            on_start()
        start_at = time.time() + 0.2
        for pipe in pipes:
            pipe.send(start_at)
        found, cpu = {}, 0.0
        for pipe in pipes:
            share, used = pipe.recv()
            found.update({number: (turns_, error) for number, turns_, error in share})
            cpu += used
    finally:
        for child in children:
            child.join(10)
            if child.is_alive():
                child.terminate()
    return [found[number] for number in numbers], cpu


def _serve_fake(conn, chars: int) -> None:
    """The fake provider in its own process; answers "log" with its first and last chunk times."""
    fake = FakeOpenRouter(text=make_text(chars), chunk_size=4, delay=0.005).start()
    conn.send(fake.base_url)
    while conn.recv() == "log":
        conn.send([entry for entry in list(fake.send_log) if entry[1] <= 4 or entry[1] == chars])
    fake.stop()


class FakeProcess:
    """The fake OpenRouter in a process of its own, so many client threads (and the GIL) do not
    slow its stream; `send_log` holds the times of each stream's first and last chunks."""

    def __init__(self, chars: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_fake, args=(child, chars), daemon=True)
        self._process.start()
        self.base_url: str = self._conn.recv()

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self._process.pid)

    @property
    def send_log(self) -> list[tuple[float, int]]:
        self._conn.send("log")
        return self._conn.recv()

    def stop(self) -> None:
        if self._process.is_alive():
            self._conn.send("stop")
            self._process.join(10)
            self._process.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--single", type=int, default=20, help="sequential 1-chat runs for TTFT")
    parser.add_argument("--chars", type=int, default=4000)
    parser.add_argument("--client-processes", type=int, default=4,
                        help="processes the concurrent clients are spread over")
    args = parser.parse_args()

    text = make_text(args.chars)
    (ROOT / "test-results").mkdir(exist_ok=True)
    database = DatabaseServer().start()
    counter = MongoCounter(database.port)  # the app reaches the database through it
    fake = FakeProcess(args.chars)
    rows: list[tuple[str, str, str]] = []
    app = watchdog = None
    warning = ""
    try:
        with web_workdir() as workdir:
            app = AppServer(app_env(
                MONGODB_URI=counter.uri, MONGODB_DB=f"bench_{uuid.uuid4().hex[:8]}",
                OPEN_ROUTER="bench-key", OPENROUTER_BASE_URL=fake.base_url,
                OPENROUTER_MODELS="fake/model", REFLEX_WEB_WORKDIR=workdir,
            ), ROOT / "test-results" / "bench-app.log")
            print(f"Starting the app (log: {app.log_path})…", flush=True)
            app.start()
            server = psutil.Process(app.process.pid)
            watchdog = Watchdog(app.process.pid)

            # 1 chat at a time: app-added time to first token, bytes and CPU per answer.
            single = Client(app.url, 0)
            single.ask("warm up")
            ttft, wire, decoded, cpu, writes = [], [], [], [], []
            written = Counter()
            for _ in range(args.single):
                single.new_chat()
                mark = len(fake.send_log)
                before, writes_before, by_before = tree_cpu(server), counter.writes(), counter.by_collection()
                turn = single.ask("How do I reset my password?")
                cpu.append(tree_cpu(server) - before)
                writes.append(counter.writes() - writes_before)
                written += counter.by_collection() - by_before
                first_chunk = fake.send_log[mark][0]
                ttft.append((turn.events[0] - first_chunk) * 1000)
                wire.append(turn.socket_bytes + turn.live_bytes)
                decoded.append(turn.socket_bytes + turn.live_decoded)
                assert turn.text == text, "the streamed text differs from the provider's"
            rows += [
                ("time to first token, median (1 chat)", f"{statistics.median(ttft):.1f} ms", "<= 20 ms"),
                ("time to first token, p95 (1 chat)", f"{pct(ttft, 0.95):.1f} ms", "<= 60 ms"),
                ("bytes per answer: socket + events route (gzip)",
                 f"{statistics.median(wire) / 1000:.1f} KB", "<= 250 KB"),
                ("bytes per answer: socket + events route (inflated)",
                 f"{statistics.median(decoded) / 1000:.1f} KB", ""),
                ("backend CPU per answer (1 chat)", f"{statistics.median(cpu):.3f} s", "<= 0.1 s"),
                ("database writes per new-chat answer, median", f"{statistics.median(writes):.0f}",
                 "(a ~5 s answer is kept as it grows, at most 1 s apart)"),
                ("  of which, per answer, by collection", ", ".join(
                    f"{c} {n / args.single:.1f}" for c, n in written.most_common()), ""),
            ]

            # History cache: a 10-turn conversation in one thread (its stream stays open).
            single.new_chat()
            before = httpx.get(f"{app.url}/api/health").json()["history_cache"]
            for number in range(10):
                single.ask(f"Follow-up question number {number} about billing")
            after = httpx.get(f"{app.url}/api/health").json()["history_cache"]
            hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
            rows.append(("history cache hit ratio, 10 turns", f"{hits / max(1, hits + misses):.0%} "
                         f"({hits} hits, {misses} misses)", ">= 90%"))
            single.close()

            # N concurrent chats, the clients in processes of their own.
            mark = len(fake.send_log)
            others = {"database": psutil.Process(database.process.pid), "fake": fake.process}
            marks: dict[str, float] = {}

            def on_start() -> None:  # after the clients connected, just before they send
                marks.update({name: tree_cpu(proc) for name, proc in others.items()},
                             app=tree_cpu(server), began=time.monotonic())

            results, client_cpu = run_concurrent(
                app.url, list(range(1, args.clients + 1)), "Question {index}: how do I reset my password?",
                processes=args.client_processes, on_start=on_start)
            spent, wall = tree_cpu(server) - marks["app"], time.monotonic() - marks["began"]
            others_spent = {name: tree_cpu(proc) - marks[name] for name, proc in others.items()}
            others_spent["bench clients"] = client_cpu
            turns = [found[0] if found else None for found, _ in results]
            errors = [error for _, error in results if error]
            done = [t for t in turns if t is not None]
            if not done:
                raise RuntimeError(f"no concurrent answer completed: {errors[:1]!r}")
            completions = [t.done_at - t.sent_at for t in done]
            sent = fake.send_log[mark:]  # the fake's own pace slips on a busy machine: measure it
            firsts = sorted(at for at, chars in sent if chars <= 4)
            lasts = sorted(at for at, chars in sent if chars == len(text))
            provider = statistics.median(b - a for a, b in zip(firsts, lasts, strict=False))
            gaps = [(b - a) * 1000 for t in done for a, b in zip(t.events, t.events[1:], strict=False)]
            starts = [t.events[0] - t.sent_at for t in done]
            ends = [t.done_at - t.events[-1] for t in done]
            ideal = args.chars / 4 * 0.005
            n = args.clients
            rows += [
                (f"{n} concurrent: completion, median", f"{statistics.median(completions):.2f} s",
                 f"<= {ideal * 1.10:.2f} s (ideal {ideal:.1f} s + 10%)"),
                (f"{n} concurrent: the fake provider's own stream, median", f"{provider:.2f} s",
                 "(for reference)"),
                (f"{n} concurrent: completion minus the provider's stream",
                 f"{statistics.median(completions) - provider:.2f} s", "(app-added)"),
                (f"{n} concurrent: send -> first text, median / max",
                 f"{statistics.median(starts):.2f} s / {max(starts):.2f} s", "(where the app adds time)"),
                (f"{n} concurrent: last delta -> final row, median",
                 f"{statistics.median(ends) * 1000:.0f} ms", "(storing the answer)"),
                (f"{n} concurrent: gap between updates, p99", f"{pct(gaps, 0.99):.0f} ms", "<= 150 ms"),
                (f"{n} concurrent: updates per answer, median",
                 f"{statistics.median(len(t.events) for t in done):.0f}", ">= 50"),
                (f"{n} concurrent: backend CPU per answer", f"{spent / len(done):.3f} s", "<= 0.2 s"),
                (f"{n} concurrent: CPU s, app / database / fake / bench clients",
                 " / ".join(f"{v:.1f}" for v in (spent, *others_spent.values()))
                 + f" ({(spent + sum(others_spent.values())) / wall:.2f} cores)", f"over {wall:.1f} s"),
                (f"{n} concurrent: errors", f"{len(errors)} exceptions, "
                 f"{sum(t.text != text for t in done)} wrong texts", "0"),
            ]
            for error in errors[:3]:
                print(f"concurrent chat failed: {error!r}", file=sys.stderr)
    finally:
        if watchdog:
            warning = watchdog.stop()
        if app:
            app.stop()
        fake.stop()
        counter.stop()
        database.stop()

    width = max(len(r[0]) for r in rows)
    print(f"\n{'metric':<{width}}  {'measured':<28}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<28}  {target}")
    if warning:
        print(f"\n{warning}")
    print(f"\ncommand: .venv/bin/python -m bench.stream_sockets {' '.join(sys.argv[1:])}".rstrip())
    return 1 if warning else 0


if __name__ == "__main__":
    sys.exit(main())

"""Streaming without a browser: raw event-socket clients against the app started as `make run`.

Each client signs up over HTTP, opens the Reflex event socket (socket.io over a websocket,
spoken by hand), sends its question as the page does, then follows the answer on the live
route (server-sent events) exactly as the page's component does. A fake OpenRouter on
loopback, in a process of its own, streams the issue's workload: 4,000 characters in
4-character chunks every 5 ms.

Prints, with the issue's targets:
- app-added time to first token, 1 chat at a time (fake's first chunk -> first live event);
- bytes the server sends per answer (event-socket frames + live-route body);
- N concurrent chats: completion time (send -> done) and the gaps between live updates;
- backend CPU per answer (the app's whole process tree, from psutil);
- history cache hit ratio over a 10-turn conversation (from /api/health).

    .venv/bin/python -m bench.stream_sockets [--clients 50] [--single 20]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import psutil
import websocket
from httpx_sse import connect_sse

from tests.fakes.fake_openrouter import FakeOpenRouter, make_text
from tests.servers import ROOT, AppServer, DatabaseServer

NAMESPACE = "/_event"  # socket.io namespace of Reflex's event socket
SEND_EVENT = "reflex___state____state.chatapp___state___chat____chat_state.send"
LOAD_EVENT = "reflex___state____state.chatapp___state___chat____chat_state.load"
STATE_KEY = "reflex___state____state.chatapp___state___chat____chat_state"


@dataclass
class Turn:
    """What one client saw of one answer (times are time.time())."""

    sent_at: float = 0.0
    events: list[float] = field(default_factory=list)
    done_at: float = 0.0
    socket_bytes: int = 0
    live_bytes: int = 0
    text: str = ""


class Client:
    """One logged-in user with an open event socket, sending like the chat page does."""

    def __init__(self, app: AppServer, number: int) -> None:
        self.base = app.url
        self.http = httpx.Client(base_url=app.url, timeout=30,
                                 headers={"X-Forwarded-For": f"10.9.{number // 250}.{number % 250}"})
        name = f"bench{uuid.uuid4().hex[:10]}"
        response = self.http.post("/api/auth/signup", json={
            "username": name, "email": f"{name}@example.com", "password": "bench-password-1"})
        response.raise_for_status()
        self.cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        url = self.base.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}"
        self.ws = websocket.create_connection(url, header=[f"Cookie: {self.cookie}"], origin=self.base,
                                              timeout=60)
        self.ws.recv()  # engine.io open
        self.ws.send(f"40{NAMESPACE},")
        self.ws.recv()  # socket.io connect
        self.new_chat()

    def new_chat(self) -> None:
        """Open /chat as the page does (the first load also carries the router data, once)."""
        self.path = "/chat"
        self._emit(LOAD_EVENT, {})
        next(self._updates())

    def _emit(self, name: str, payload: dict) -> None:
        event = {"name": name, "payload": payload,
                 "router_data": {"pathname": self.path, "asPath": self.path}}
        self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", event]))

    def _updates(self):
        """Yield (bytes, delta of the chat state) for each update the server pushes."""
        while True:
            frame = self.ws.recv()
            if frame == "2":  # engine.io ping
                self.ws.send("3")
                continue
            if not frame.startswith(f"42{NAMESPACE},"):
                continue
            _, update = json.loads(frame[len(NAMESPACE) + 3:])
            yield len(frame.encode()), update.get("delta", {}).get(STATE_KEY, {})

    def ask(self, question: str) -> Turn:
        turn = Turn(sent_at=time.time())
        self._emit(SEND_EVENT, {"form_data": {"message": question, "client_id": uuid.uuid4().hex}})
        src = ""
        for size, delta in self._updates():
            turn.socket_bytes += size
            src = delta.get("live_src_rx_state_") or src
            if delta.get("notice_rx_state_"):
                raise RuntimeError(delta["notice_rx_state_"])
            if src:
                break
        chat_id = src.split("/api/chats/")[1].split("/")[0]
        self.path = f"/chat/{chat_id}"
        with connect_sse(self.http, "GET", src, headers={"Cookie": self.cookie}) as source:
            for event in source.iter_sse():
                turn.live_bytes += len(event.data) + len(event.id or "") + 12
                if not event.data:  # the reconnect delay
                    continue
                if event.event == "done":
                    turn.done_at = time.time()
                    break
                turn.events.append(time.time())
                turn.text += json.loads(event.data)
        for size, delta in self._updates():  # the stored answer arrives on the socket
            turn.socket_bytes += size
            if delta.get("generating_rx_state_") is False:
                break
        return turn

    def close(self) -> None:
        self.ws.close()
        self.http.close()


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
    def send_log(self) -> list[tuple[float, int]]:
        self._conn.send("log")
        return self._conn.recv()

    def stop(self) -> None:
        if self._process.is_alive():
            self._conn.send("stop")
            self._process.join(10)
            self._process.terminate()


def tree_cpu(process: psutil.Process) -> float:
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--single", type=int, default=20, help="sequential 1-chat runs for TTFT")
    parser.add_argument("--chars", type=int, default=4000)
    args = parser.parse_args()

    text = make_text(args.chars)
    database = DatabaseServer().start()
    fake = FakeProcess(args.chars)
    app = AppServer({
        "MONGODB_URI": database.uri, "MONGODB_DB": f"bench_{uuid.uuid4().hex[:8]}",
        "JWT_SECRET": "bench-" + "x" * 44, "TRUSTED_PROXY_HOPS": "1",
        "OPEN_ROUTER": "bench-key", "OPENROUTER_BASE_URL": fake.base_url,
        "OPENROUTER_MODELS": "fake/model", "AI_MESSAGES_PER_MINUTE": "100000",
    }, ROOT / "test-results" / "bench-app.log")
    (ROOT / "test-results").mkdir(exist_ok=True)
    rows: list[tuple[str, str, str]] = []
    try:
        app.start()
        server = psutil.Process(app.process.pid)

        # 1 chat at a time: app-added time to first token, bytes and CPU per answer.
        single = Client(app, 0)
        single.ask("warm up")
        ttft, answer_bytes, cpu = [], [], []
        for _ in range(args.single):
            single.new_chat()
            mark = len(fake.send_log)
            before = tree_cpu(server)
            turn = single.ask("How do I reset my password?")
            cpu.append(tree_cpu(server) - before)
            first_chunk = fake.send_log[mark][0]
            ttft.append((turn.events[0] - first_chunk) * 1000)
            answer_bytes.append(turn.socket_bytes + turn.live_bytes)
            assert turn.text == text, "the streamed text differs from the provider's"
        rows += [
            ("time to first token, median (1 chat)", f"{statistics.median(ttft):.1f} ms", "<= 20 ms"),
            ("time to first token, p95 (1 chat)", f"{pct(ttft, 0.95):.1f} ms", "<= 60 ms"),
            ("bytes sent per answer", f"{statistics.median(answer_bytes) / 1000:.1f} KB", "<= 250 KB"),
            ("backend CPU per answer (1 chat)", f"{statistics.median(cpu):.3f} s", "<= 0.2 s"),
        ]

        # History cache: a 10-turn conversation in one thread.
        single.new_chat()
        before = httpx.get(f"{app.url}/api/health").json()["history_cache"]
        for number in range(10):
            single.ask(f"Follow-up question number {number} about billing")
        after = httpx.get(f"{app.url}/api/health").json()["history_cache"]
        hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
        rows.append(("history cache hit ratio, 10 turns", f"{hits / max(1, hits + misses):.0%} "
                     f"({hits} hits, {misses} misses)", ">= 90%"))
        single.close()

        # N concurrent chats.
        clients = [Client(app, number + 1) for number in range(args.clients)]
        turns: list[Turn] = [Turn()] * len(clients)
        start = threading.Barrier(len(clients) + 1)

        def run(index: int) -> None:
            start.wait()
            turns[index] = clients[index].ask(f"Question {index}: how do I reset my password?")

        mark = len(fake.send_log)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
        for thread in threads:
            thread.start()
        before = tree_cpu(server)
        start.wait()
        for thread in threads:
            thread.join()
        spent = tree_cpu(server) - before
        for client in clients:
            client.close()
        completions = [t.done_at - t.sent_at for t in turns]
        sent = fake.send_log[mark:]  # the fake's own pace slips on a busy machine: measure it
        firsts = sorted(at for at, chars in sent if chars <= 4)
        lasts = sorted(at for at, chars in sent if chars == len(text))
        provider = statistics.median(b - a for a, b in zip(firsts, lasts, strict=False))
        gaps = [(b - a) * 1000 for t in turns for a, b in zip(t.events, t.events[1:], strict=False)]
        starts = [t.events[0] - t.sent_at for t in turns]
        ends = [t.done_at - t.events[-1] for t in turns]
        ideal = args.chars / 4 * 0.005
        rows += [
            (f"{args.clients} concurrent: completion, median", f"{statistics.median(completions):.2f} s",
             f"<= {ideal * 1.10:.2f} s (ideal {ideal:.1f} s + 10%)"),
            (f"{args.clients} concurrent: the fake provider's own stream, median", f"{provider:.2f} s",
             "(for reference)"),
            (f"{args.clients} concurrent: completion minus the provider's stream",
             f"{statistics.median(completions) - provider:.2f} s", "(app-added)"),
            (f"{args.clients} concurrent: send -> first text, median / max",
             f"{statistics.median(starts):.2f} s / {max(starts):.2f} s", "(where the app adds time)"),
            (f"{args.clients} concurrent: last text -> done, median",
             f"{statistics.median(ends) * 1000:.0f} ms", "(storing the answer)"),
            (f"{args.clients} concurrent: gap between updates, p99", f"{pct(gaps, 0.99):.0f} ms",
             "<= 150 ms"),
            (f"{args.clients} concurrent: updates per answer, median",
             f"{statistics.median(len(t.events) for t in turns):.0f}", ">= 50"),
            (f"{args.clients} concurrent: backend CPU per answer", f"{spent / len(turns):.3f} s", "<= 0.2 s"),
        ]
        if any(t.text != text for t in turns):
            rows.append(("WARNING", "some concurrent answers differ from the provider's text", ""))
    finally:
        app.stop()
        fake.stop()
        database.stop()

    width = max(len(r[0]) for r in rows)
    print(f"\n{'metric':<{width}}  {'measured':<28}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<28}  {target}")
    print(f"\ncommand: .venv/bin/python -m bench.stream_sockets {' '.join(sys.argv[1:])}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

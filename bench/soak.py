"""Soak: many simulated users over several minutes, with random disconnects, reconnects and
double sends, then a count of what the database holds.

Each user signs up, opens the event socket and sends messages as the page does, each with its
own client id. At random it sends a message twice (a double click), drops the socket right
after sending (before hearing back) and, after a pause, reconnects with the same tab token and
sends the unacknowledged message again (what the page's outbox does). The built-in
knowledge-base responder answers (no provider key), so the run measures the app, not a model.

At the end it waits for answers still being written, then reads the database directly and prints
messages sent, user messages stored, duplicates (a client id or a text stored twice, or two
answers to one question), lost (sent, never stored) and stuck (a question with no answer).

    .venv/bin/python -m bench.soak [--users 200] [--minutes 5] [--messages 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter

import httpx
import websocket
from motor.motor_asyncio import AsyncIOMotorClient

from bench.stream_sockets import LOAD_EVENT, NAMESPACE, SEND_EVENT
from tests.servers import ROOT, AppServer, DatabaseServer

DROP_CHANCE = 0.2
DOUBLE_CHANCE = 0.2


class User:
    """One browser tab: a session cookie, a tab token, and a socket that may drop."""

    def __init__(self, base: str, number: int, rng: random.Random) -> None:
        self.base, self.rng = base, rng
        self.name = f"soak{number}_{uuid.uuid4().hex[:6]}"
        self.http = httpx.Client(base_url=base, timeout=60,
                                 headers={"X-Forwarded-For": f"10.8.{number // 250}.{number % 250}"})
        self.http.post("/api/auth/signup", json={
            "username": self.name, "email": f"{self.name}@example.com",
            "password": "soak-password-1"}).raise_for_status()
        self.cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        self.token = str(uuid.uuid4())
        self.acked: set[str] = set()
        self.sent: list[str] = []
        self.drops = self.doubles = 0
        self.ws: websocket.WebSocket | None = None
        self.path = "/chat"

    def connect(self) -> None:
        url = self.base.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={self.token}"
        self.ws = websocket.create_connection(url, header=[f"Cookie: {self.cookie}"], origin=self.base,
                                              timeout=60)
        self.ws.recv()
        self.ws.send(f"40{NAMESPACE},")
        self.ws.recv()
        threading.Thread(target=self._read, args=(self.ws,), daemon=True).start()
        self._emit(LOAD_EVENT, {})

    def _read(self, ws: websocket.WebSocket) -> None:
        """Answer pings and note acknowledgements and the thread's address, until the socket drops."""
        try:
            while True:
                frame = ws.recv()
                if frame == "2":
                    ws.send("3")
                for client_id in self.sent:
                    if f'ack(\\"{client_id}\\"' in frame or f'ack("{client_id}"' in frame:
                        self.acked.add(client_id)
                if "/chat/" in frame and self.path == "/chat":
                    marker = frame.split("/chat/", 1)[1]
                    self.path = "/chat/" + marker[:16]
        except (websocket.WebSocketException, OSError):
            return

    def _emit(self, name: str, payload: dict) -> None:
        event = {"name": name, "payload": payload,
                 "router_data": {"pathname": self.path, "asPath": self.path}}
        self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", event]))

    def send(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        self.sent.append(client_id)
        payload = {"form_data": {"message": text, "client_id": client_id}}
        self._emit(SEND_EVENT, payload)
        if self.rng.random() < DOUBLE_CHANCE:
            self.doubles += 1
            self._emit(SEND_EVENT, payload)
        if self.rng.random() < DROP_CHANCE:  # the connection drops before the answer comes back
            self.drops += 1
            self.ws.close()
            time.sleep(self.rng.uniform(0.5, 3))
            self.connect()
            if client_id not in self.acked:  # the outbox sends what was not acknowledged
                self._emit(SEND_EVENT, payload)

    def run(self, messages: int, seconds: float) -> None:
        self.connect()
        for number in range(messages):
            time.sleep(self.rng.uniform(0, 2 * seconds / messages))
            self.send(f"{self.name}: how do I reset my password? ({number})")
        time.sleep(3)
        self.ws.close()


async def audit(uri: str, db: str, users: list[User], wait: float) -> dict[str, int]:
    client = AsyncIOMotorClient(uri)
    database = client[db]
    owners = {doc["username"]: str(doc["_id"]) async for doc in database.users.find({})}
    deadline = time.monotonic() + wait
    while True:  # let answers still being written finish
        questions = await database.messages.count_documents({"role": "user"})
        answers = await database.messages.count_documents({"role": "assistant"})
        if answers >= questions or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    figures = Counter()
    for user in users:
        owner = owners[user.name]
        docs = [doc async for doc in database.messages.find({"owner": owner})]
        stored = [d for d in docs if d["role"] == "user"]
        figures["sent"] += len(user.sent)
        figures["stored"] += len(stored)
        figures["double sends"] += user.doubles
        figures["disconnects"] += user.drops
        ids = Counter(d["client_id"] for d in stored)
        texts = Counter(d["content"] for d in stored)
        answers = Counter(d["client_id"].removesuffix(":answer") for d in docs if d["role"] == "assistant")
        figures["duplicates"] += sum(n - 1 for n in ids.values() if n > 1)
        figures["duplicates"] += sum(n - 1 for n in texts.values() if n > 1)
        figures["duplicates"] += sum(n - 1 for n in answers.values() if n > 1)
        figures["lost"] += len(set(user.sent) - set(ids))
        figures["stuck"] += sum(1 for cid in ids if cid not in answers)
    client.close()
    return dict(figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    database = DatabaseServer().start()
    name = f"soak_{uuid.uuid4().hex[:8]}"
    (ROOT / "test-results").mkdir(exist_ok=True)
    app = AppServer({"MONGODB_URI": database.uri, "MONGODB_DB": name, "JWT_SECRET": "soak-" + "x" * 44,
                     "TRUSTED_PROXY_HOPS": "1", "OPEN_ROUTER": "", "AI_MESSAGES_PER_MINUTE": "1000"},
                    ROOT / "test-results" / "soak-app.log")
    started = time.monotonic()
    try:
        app.start()
        users = [User(app.url, n, random.Random(rng.random())) for n in range(args.users)]
        seconds = args.minutes * 60
        threads = []
        for user in users:  # users arrive over the first fifth of the run
            thread = threading.Thread(target=user.run, args=(args.messages, seconds * 0.8))
            thread.start()
            threads.append(thread)
            time.sleep(seconds * 0.2 / len(users))
        for thread in threads:
            thread.join()
        figures = asyncio.run(audit(database.uri, name, users, wait=120))
    finally:
        app.stop()
        database.stop()
    took = (time.monotonic() - started) / 60
    print(f"\n{args.users} users, {args.messages} messages each, over {took:.1f} min")
    for key in ("sent", "stored", "double sends", "disconnects", "duplicates", "lost", "stuck"):
        target = "  (target 0)" if key in ("duplicates", "lost", "stuck") else ""
        print(f"{key:<14} {figures.get(key, 0)}{target}")
    print(f"\ncommand: .venv/bin/python -m bench.soak {' '.join(sys.argv[1:])}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

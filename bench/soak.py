"""Soak: many simulated users over several minutes, with random disconnects, reconnects and
double sends, then a count of what the database holds.

Each user signs up, opens the event socket and /chat as the page does (`ChatState.load` names
the new chat), opens that conversation's events route (as the page's EventSource does), and
sends messages with `ChatState.send` ({client_id, chat_id, text}), each with its own client id.
A message counts as acknowledged when its row shows up in the conversation's stream (what the
page's outbox waits for). At random a user sends a message twice (a double click), or the
network drops right after a send (before anything comes back): the socket and the stream both
close; after a pause the user reconnects with the same tab token, loads the page again, resumes
the stream from the last event id it saw (Last-Event-ID) and sends every message not yet
acknowledged again, in order (what the outbox does). The built-in knowledge-base responder
answers (no provider key), so the run measures the app, not a model.

At the end it waits for answers still being written, then reads the database directly and prints
messages sent, user messages stored, duplicates (a client id or a text stored twice, or two
answers to one question), lost (sent, never stored) and stuck (a question with no answer).

    .venv/bin/python -m bench.soak [--users 200] [--minutes 5] [--messages 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import threading
import time
import uuid
from collections import Counter

import httpx
from motor.motor_asyncio import AsyncIOMotorClient

from bench.common import EventStream, Socket, Watchdog, app_env, delta_field, web_workdir
from bench.stream_sockets import LOAD_EVENT, SEND_EVENT
from chatapp.state.chat import ChatState
from tests.servers import ROOT, AppServer, DatabaseServer

DROP_CHANCE = 0.2
DOUBLE_CHANCE = 0.2


class User:
    """One browser tab: a session cookie, a tab token, a socket and a stream that may drop."""

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
        self.sent: list[tuple[str, str]] = []  # (client id, text), in order
        self.drops = self.doubles = 0
        self.socket: Socket | None = None
        self.stream: EventStream | None = None
        self.chat_id = ""
        self.last_id: str | None = None
        self.path = "/chat"
        self.error: Exception | None = None

    def connect(self) -> None:
        self.socket = Socket(self.base, self.cookie, token=self.token)
        self.socket.emit(LOAD_EVENT, {}, self.path)
        if not self.chat_id:  # the first load names the new chat
            self.chat_id = self.socket.wait_update(delta_field(ChatState, "thread_id"))
        self.stream = EventStream(self.http, f"/api/conversations/{self.chat_id}/events", self.cookie,
                                  after=self.last_id)
        threading.Thread(target=self._follow, args=(self.stream,), daemon=True).start()

    def _follow(self, stream: EventStream) -> None:
        """Note the messages the stream shows (acknowledged) and the last event id, until it drops."""
        try:
            while True:
                _, event_id, event = stream.next()
                rows = (event["messages"] if event["type"] == "snapshot"
                        else [event["message"]] if event["type"] == "message" else [])
                for row in rows:
                    if row["role"] == "user":
                        self.acked.add(row["client_id"])
                        self.path = f"/chat/{self.chat_id}"  # the page takes the chat's address
                if event_id is not None:
                    self.last_id = event_id
        except Exception:  # noqa: BLE001 - the connection dropped or was closed
            return

    def disconnect(self) -> None:
        if self.stream is not None:
            self.stream.close()
        if self.socket is not None:
            self.socket.close()

    def _emit(self, client_id: str, text: str) -> None:
        self.socket.emit(SEND_EVENT, {"message": {"client_id": client_id, "chat_id": self.chat_id,
                                                  "text": text}}, self.path)

    def send(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        self.sent.append((client_id, text))
        self._emit(client_id, text)
        if self.rng.random() < DOUBLE_CHANCE:
            self.doubles += 1
            self._emit(client_id, text)
        if self.rng.random() < DROP_CHANCE:  # the connection drops before the answer comes back
            self.drops += 1
            self.disconnect()
            time.sleep(self.rng.uniform(0.5, 3))
            self.connect()
            for waiting, waiting_text in self.sent:  # the outbox sends what was not acknowledged
                if waiting not in self.acked:
                    self._emit(waiting, waiting_text)

    def run(self, messages: int, seconds: float) -> None:
        try:
            self.connect()
            for number in range(messages):
                time.sleep(self.rng.uniform(0, 2 * seconds / messages))
                self.send(f"{self.name}: how do I reset my password? ({number})")
            time.sleep(3)
        except Exception as error:  # noqa: BLE001 - counted and printed
            self.error = error
        finally:
            self.disconnect()


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
        sent_ids = {client_id for client_id, _ in user.sent}
        figures["stored"] += len(stored)
        figures["double sends"] += user.doubles
        figures["disconnects"] += user.drops
        ids = Counter(d["client_id"] for d in stored)
        texts = Counter(d["content"] for d in stored)
        answers = Counter(d["client_id"].removesuffix(":answer") for d in docs if d["role"] == "assistant")
        figures["duplicates"] += sum(n - 1 for n in ids.values() if n > 1)
        figures["duplicates"] += sum(n - 1 for n in texts.values() if n > 1)
        figures["duplicates"] += sum(n - 1 for n in answers.values() if n > 1)
        figures["lost"] += len(sent_ids - set(ids))
        figures["never acknowledged"] += len(sent_ids - user.acked)
        figures["user errors"] += user.error is not None
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
    stack = contextlib.ExitStack()
    app = AppServer(app_env(MONGODB_URI=database.uri, MONGODB_DB=name, OPEN_ROUTER="",
                            REFLEX_WEB_WORKDIR=stack.enter_context(web_workdir())),
                    ROOT / "test-results" / "soak-app.log")
    started = time.monotonic()
    try:
        app.start()
        watchdog = Watchdog(app.process.pid)
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
        for user in [user for user in users if user.error][:3]:
            print(f"{user.name}: {user.error!r}", file=sys.stderr)
        warning = watchdog.stop()
    finally:
        app.stop()
        stack.close()
        database.stop()
    took = (time.monotonic() - started) / 60
    print(f"\n{args.users} users, {args.messages} messages each, over {took:.1f} min")
    zero = ("duplicates", "lost", "stuck", "never acknowledged", "user errors")
    for key in ("sent", "stored", "double sends", "disconnects", *zero):
        print(f"{key:<18} {figures.get(key, 0)}{'  (target 0)' if key in zero else ''}")
    if warning:
        print(f"\n{warning}")
    print(f"\ncommand: .venv/bin/python -m bench.soak {' '.join(sys.argv[1:])}".rstrip())
    return 1 if warning else 0


if __name__ == "__main__":
    sys.exit(main())

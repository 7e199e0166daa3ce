"""The insights page over 10,000 conversations and 100,000 messages, on the embedded nx-27017.

Run from the repository root: `.venv/bin/python bench/insights.py [--conversations 10000]`.
It starts its own nx-27017 on a database file in a temporary folder (as `make run` keeps one in
data/), generates the conversations over the last 90 days (10 messages each: questions,
answers with their sources, declines, thumbs up and down, handoffs with a person's reply,
closes and CSAT, written as threads.py and feedback.py write them), and measures:

- the dashboard (`Insights.overview`, the seven pipelines of one page) for the last 7, 30 and
  90 days: the time the server waited for the database (median of 5; the 90-day page spans
  every document, with its previous period), the database process's CPU for it, and the bytes
  of the result as the page gets it (JSON);
- the articles table and the knowledge gaps (fetching at most 5,000 declined and thumbs-down
  questions, and grouping them), and the two CSV exports, for the last 90 days;
- grouping 5,000 declined questions into topics (gaps.group_questions), median of 3, alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bson import ObjectId

from chatapp.config import ROOT
from chatapp.models import AGENT, User
from chatapp.services.gaps import GapQuestion, group_questions
from chatapp.services.insights import Insights
from chatapp.services.knowledge import KnowledgeBase
from chatapp.services.store import Store
from chatapp.services.threads import REPORTING, Threads, citation_events, gap_event
from tests.servers import DatabaseServer

TARGET_S = 1.0
DAY = timedelta(days=1)
GAPS = [  # what customers ask that the sample help centre does not cover (scripts/demo_data.py has more)
    "Do you integrate with WhatsApp?", "Can callers message us on WhatsApp instead of calling?",
    "is there whatsapp support", "Is there a mobile app?", "do you have an iPhone app", "mobile app for iOS?",
    "Do you integrate with Pipedrive?", "pipedrive crm sync", "can ellavox send and receive faxes",
    "do you support fax", "shopify integration for order tracking", "can I resell Ellavox under my brand",
    "self-hosted version?", "can we run ellavox on premise", "outbound calling campaigns?",
]
NOISE = ("", "", "hi, ", "quick question: ", "hello! ", "hey team, ")
TAILS = ("", "", "?", " thanks", " please", " asap", " for our clinic", " for my salon")


def questions() -> tuple[list[str], list[str]]:
    sets = [*json.loads((ROOT / "bench" / "kb_questions.json").read_text()),
            *json.loads((ROOT / "bench" / "kb_questions_blind.json").read_text())]
    answerable = [q["question"] for q in sets if q.get("slugs")]
    return answerable, GAPS + [q["question"] for q in sets if not q.get("slugs")]


def gap_question(rng: random.Random, gaps: list[str]) -> str:
    return f"{rng.choice(NOISE)}{rng.choice(gaps)}{rng.choice(TAILS)}"


def generate(count: int, now: datetime, kb: KnowledgeBase, rng: random.Random
             ) -> tuple[list[dict], list[dict], list[dict]]:
    """`count` conversations of 10 messages each over the 90 days up to `now`, and their
    reporting records."""
    answerable, gaps = questions()
    passages = [p.id for p in kb.passages]
    threads, messages, records = [], [], []
    for _ in range(count):
        chat_id, owner = secrets.token_hex(8), f"{rng.randrange(count // 4):024x}"
        started = now - timedelta(seconds=rng.uniform(600, 90 * 86_400))
        clock, answers = started, []
        thread = {"_id": chat_id, "owner": owner, "created_at": started, "created_ms": ms(started),
                  "status": "bot", "customer_name": f"Customer {owner[-4:]}",
                  "customer_email": f"c{owner[-6:]}@example.com",
                  "title": "", "asked": 4, "answers": 0, "declines": 0, "last_declined": False,
                  "thumbs_up": 0, "thumbs_down": 0}
        for _ in range(4):
            declined = rng.random() < 0.15
            text = gap_question(rng, gaps) if declined else rng.choice(answerable)
            thread["title"] = thread["title"] or text[:60]
            client_id = secrets.token_hex(8)
            clock += timedelta(seconds=rng.uniform(10, 120))
            messages.append(message(owner, chat_id, "user", text, clock, client_id=client_id))
            clock += timedelta(seconds=rng.uniform(2, 8))
            sources = [] if declined else rng.sample(passages, rng.randint(1, 3))
            answer = message(owner, chat_id, "assistant", "The answer, from the help centre. " * 12, clock,
                             client_id=client_id + ":answer", status="complete",
                             model="helpdesk/knowledge-base", sources=sources, declined=declined)
            rating = rng.choices((None, "up", "down"), (65, 25, 10))[0]
            if rating:
                answer |= {"feedback": rating, "feedback_reasons": ["wrong"] if rating == "down" else [],
                           "feedback_comment": "", "feedback_at": ms(clock + timedelta(minutes=1))}
                thread[f"thumbs_{rating}"] += 1
            messages.append(answer)
            message_id = str(answer["_id"])
            records += citation_events(message_id, chat_id, owner, answer["created_ms"], sources, rating)
            if declined or rating == "down":
                records.append(gap_event(message_id, chat_id, owner, answer["created_ms"], text,
                                         declined=declined, feedback=rating,
                                         reasons=answer.get("feedback_reasons", ())))
            answers.append(declined)
        thread |= {"answers": 4, "declines": sum(answers), "last_declined": answers[-1]}
        if rng.random() < 0.2:  # handed over: the 9th and 10th messages are the team's
            thread |= {"handoff_at": ms(clock), "status": "waiting"}
            messages.append(message(owner, chat_id, "activity", "Handed over to the support team.", clock))
            clock += timedelta(seconds=rng.lognormvariate(5.5, 1.0))
            messages.append(message(owner, chat_id, "agent", "Hi, Alex here: done.", clock, author="Alex"))
            thread |= {"first_human_reply_at": ms(clock), "status": "assigned", "assignee_name": "Alex"}
        else:
            for text in ("Thanks!", "Bye"):
                clock += timedelta(seconds=30)
                messages.append(message(owner, chat_id, "user", text, clock))
            thread["asked"] += 2
        if rng.random() < 0.6:
            clock += timedelta(minutes=rng.uniform(1, 60))
            thread |= {"status": "closed", "closed_at": ms(clock), "closed_by": "agent"}
            if rng.random() < 0.5:
                thread |= {"csat": rng.choices(range(1, 6), (5, 5, 15, 30, 45))[0], "csat_comment": "",
                           "csat_at": ms(clock + timedelta(minutes=2))}
        thread["updated_at"] = ms(clock)
        threads.append(thread)
    return threads, messages, records


def message(owner: str, chat_id: str, role: str, content: str, at: datetime, **fields) -> dict:
    return {"_id": ObjectId(), "owner": owner, "chat_id": chat_id, "role": role, "content": content,
            "status": "sent", "model": "", "client_id": fields.pop("client_id", secrets.token_hex(8)),
            "created_at": at, "created_ms": ms(at), "sources": [], "author": "", "declined": False, **fields}


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def timed(call, runs: int, server: psutil.Process) -> tuple[float, float, object]:
    """(median wall seconds, median database CPU seconds, the last result)."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        cpu = sum(server.cpu_times()[:2])
        began = time.perf_counter()
        result = await call()
        walls.append(time.perf_counter() - began)
        cpus.append(sum(server.cpu_times()[:2]) - cpu)
    return statistics.median(walls), statistics.median(cpus), result


async def main_async(count: int) -> None:
    kb = KnowledgeBase.load(ROOT / "knowledge")
    now = datetime.now(UTC)
    folder = tempfile.TemporaryDirectory(prefix="bench-insights-")
    server = DatabaseServer(str(Path(folder.name) / "bench.db")).start()
    store = Store(server.uri, "bench", timeout_ms=60_000)
    try:
        process = psutil.Process(server.process.pid)
        await store.ensure_indexes()
        await Threads(store.db).ensure_indexes()
        threads, messages, records = generate(count, now, kb, random.Random(1))
        began = time.perf_counter()
        for at in range(0, len(threads), 2000):
            await store.db["threads"].insert_many(threads[at:at + 2000])
        for at in range(0, len(messages), 5000):
            await store.db["messages"].insert_many(messages[at:at + 5000])
        for at in range(0, len(records), 5000):
            await store.db[REPORTING].insert_many(records[at:at + 5000])
        loaded = time.perf_counter() - began
        insights = Insights(store.db, lambda: kb, clock=lambda: now)
        agent = User("bench", "bench", "bench@example.com", 0, now, role=AGENT)
        rows = []
        for days in (7, 30, 90):
            period = insights.last(days)
            wall, cpu, overview = await timed(lambda p=period: insights.overview(agent, p), 5, process)
            size = len(json.dumps(overview.to_dict()).encode())
            conversations = overview.metric("conversations")
            rows.append((f"dashboard, last {days} days", wall, cpu, size,
                         f"{int(conversations.value):,} + {int(conversations.previous):,} conversations"))
        period = insights.last(90)
        for name, call in (("articles table, 90 days", lambda: insights.articles(agent, period)),
                           ("knowledge gaps, 90 days", lambda: insights.gaps(agent, period)),
                           ("conversations CSV, 90 days", lambda: insights.conversations_csv(agent, period)),
                           ("feedback CSV, 90 days", lambda: insights.feedback_csv(agent, period))):
            wall, cpu, result = await timed(call, 3, process)
            if hasattr(result, "content"):
                size, note = len(result.content), f"{result.rows:,} rows"
            else:
                size = len(json.dumps(result.to_dict()).encode())
                note = (f"{result.questions:,} questions, {len(result.topics)} topics"
                        if hasattr(result, "topics")
                        else f"{len(result.cited)} cited, {len(result.never_cited)} never")
            rows.append((name, wall, cpu, size, note))
    finally:
        store.close()
        server.stop()
        folder.cleanup()

    _, gaps = questions()
    rng = random.Random(5)
    declined = [GapQuestion(gap_question(rng, gaps), chat_id=str(i)) for i in range(5000)]
    group_questions(declined[:50], kb)  # the word weights are built once per knowledge base
    group_s, topics = [], []
    for _ in range(3):
        began = time.perf_counter()
        topics = group_questions(declined, kb)
        group_s.append(time.perf_counter() - began)

    messages_count = len(messages)
    print(f"{count:,} conversations, {messages_count:,} messages over 90 days, on nx-27017 "
          f"(a database file); loaded in {loaded:.1f} s\n")
    print(f"{'what':<30}{'server wait s':>14}{'db CPU s':>10}{'result bytes':>14}  notes")
    print("-" * 96)
    for name, wall, cpu, size, note in rows:
        print(f"{name:<30}{wall:>14.3f}{cpu:>10.3f}{size:>14,}  {note}")
    print(f"{'group 5,000 declined questions':<30}{statistics.median(group_s):>14.3f}{'':>10}{'':>14}  "
          f"{len(topics)} topics; biggest: " + ", ".join(f"{t.label} ({t.count})" for t in topics[:4]))
    worst = max(wall for name, wall, *_ in rows if name.startswith("dashboard"))
    verdict = "ok" if worst <= TARGET_S else "MISSED"
    print(f"\ndashboard: slowest {worst:.3f} s (target <= {TARGET_S:.1f} s): {verdict}")
    print(f"\ncommand: .venv/bin/python bench/insights.py --conversations {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    asyncio.run(main_async(parser.parse_args().conversations))


if __name__ == "__main__":
    main()

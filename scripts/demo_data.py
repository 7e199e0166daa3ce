"""`make demo-data`: fill a fresh database with a realistic month of support conversations, so
that a new user sees the inbox and /inbox/insights working.

About 650 conversations over the last 30 days, by about 160 customers, weekdays busier than
weekends and the afternoon busier than the night. Customers ask the real questions of the 39
sample articles (bench/kb_questions*.json, typos and follow-ups included), and others the help
centre does not cover: off-topic ones, and features it lacks (WhatsApp, a mobile app, faxes,
Pipedrive...). Each question is answered as the built-in responder answers it: the same
retrieval decides the sources and whether to decline. Customers rate answers (more often down
when the answer is about another article than the one they needed), ask for a person after a
decline, and the three demo agents (Alex, Sam and Priya) reply (fast in office hours, the next
morning otherwise), close, and get rated 1 to 5. The last hours leave a few conversations
waiting in the queue.

Everything it writes is marked `demo: true`. It refuses to run twice: `make demo-data RESET=1`
removes the demo records first (and nothing else). The demo agents cannot log in: use your own
admin (`make admin EMAIL=...`) to look around.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402

from chatapp.config import get_settings  # noqa: E402
from chatapp.models import ACTIVITY, AGENT, AGENT_MESSAGE, ASSISTANT, CUSTOMER, USER, Message  # noqa: E402
from chatapp.services.auth import hash_password  # noqa: E402
from chatapp.services.conversations import asks_for_person  # noqa: E402
from chatapp.services.knowledge import KnowledgeBase, compose_answer, small_talk_reply  # noqa: E402
from chatapp.services.knowledge.compose import SECOND_PASSAGE_RATIO  # noqa: E402
from chatapp.services.llm.local import MODEL_NAME  # noqa: E402
from chatapp.services.store import Store  # noqa: E402
from chatapp.services.summary import extractive  # noqa: E402
from chatapp.services.threads import (  # noqa: E402
    ANSWER_SUFFIX,
    PREVIEW_LENGTH,
    REPORTING,
    Threads,
    citation_events,
    gap_event,
    shortened,
    title_from,
)

DAYS = 30
SEED = 2026
AGENTS = ("Alex", "Sam", "Priya")
FIRST_NAMES = ("Ann", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemi",
               "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
               "Wen", "Xavier", "Yara", "Zoe", "Marco", "Aisha", "Tom", "Lena")
LAST_NAMES = ("Garcia", "Smith", "Okafor", "Novak", "Kim", "Rossi", "Dubois", "Schmidt", "Patel", "Silva",
              "Jensen", "Murphy", "Cohen", "Tanaka", "Kowalski", "Haddad", "Larsen", "Moreau")
BUSINESSES = ("dental", "plumbing", "salon", "bakery", "law", "clinic", "garage", "studio", "realty", "vet")

# Features the help centre does not cover, as customers ask about them: the knowledge gaps.
GAPS: dict[str, list[str]] = {
    "whatsapp": ["Do you integrate with WhatsApp?", "Can callers message us on WhatsApp instead of calling?",
                 "is there whatsapp support", "can the agent answer WhatsApp messages too",
                 "WhatsApp Business integration?"],
    "mobile app": ["Is there a mobile app?", "do you have an iPhone app", "Android app to listen to calls?",
                   "mobile app for iOS?", "is there an app for my phone so I can see calls"],
    "pipedrive": ["Do you integrate with Pipedrive?", "pipedrive crm sync",
                  "can calls be logged in Pipedrive", "connect ellavox to pipedrive"],
    "fax": ["can ellavox send and receive faxes", "do you support fax", "can I get a fax number"],
    "shopify": ["shopify integration for order tracking", "does it connect to my Shopify store",
                "can callers ask where their Shopify order is"],
    "white label": ["can I resell Ellavox under my brand", "white label option?",
                    "reseller programme for agencies"],
    "on premise": ["can we run ellavox on premise", "self-hosted version?",
                   "on-premise deployment for our IT team"],
    "outbound": ["outbound calling campaigns?", "Can the agent make outbound calls to customers?"],
    "slack": ["can I get call summaries in Slack?", "Slack integration?",
              "slack notifications for new messages"],
}
GAP_WEIGHTS = {"whatsapp": 9, "mobile app": 7, "pipedrive": 5, "fax": 3, "shopify": 3, "white label": 2,
               "on premise": 2, "outbound": 2, "slack": 3}
GAP_REPLIES = {
    "whatsapp": "Thanks for asking! WhatsApp isn't supported yet; it's on our roadmap for next quarter. "
                "Today callers reach you by phone, and the agent can text them a follow-up.",
    "mobile app": "There's no native app yet, but the dashboard works well in your phone's browser, and "
                  "you can get an email for every message the agent takes.",
    "pipedrive": "We don't have a Pipedrive integration yet. Many customers connect it through our webhooks "
                 "(Settings > Webhooks) in the meantime; I can send you an example.",
    "fax": "We don't support fax, I'm afraid: Ellavox numbers are voice-only.",
}
SMALL_TALK = ("hi", "hello!", "thanks", "thank you so much")
PERSON = ("can I talk to someone", "agent please", "I want to speak to a real person", "human please")
THANKS = ("Thanks, that helps!", "Great, thank you.", "Perfect, sorted.", "ok thanks")
CLOSING_NOTES = ("I'm glad that's sorted. Have a good day!", "You're welcome! Closing this one now.",
                 "Happy to help. Just write here if anything else comes up.")
CSAT_COMMENTS = {1: ["Took far too long.", "Still not solved."],
                 2: ["Slow answer.", "Not really what I needed."], 3: ["OK in the end."],
                 4: ["Helpful, thanks.", "Quick and clear."],
                 5: ["Brilliant, thank you!", "Super fast.", "Exactly what I needed."]}
REASONS_WRONG = (("wrong",), ("unanswered",), ("wrong", "unanswered"))
REASONS_UNCLEAR = (("unclear",), ("other",))
OTHER_COMMENTS = ("The steps don't match what I see in the dashboard.", "Too long, I just need the setting.",
                  "I asked about something else.")
# Articles no demo customer asks about, so that the articles table has some never cited.
NEVER_ASKED = frozenset({"audit-logs", "data-retention", "sso-saml", "zoho-crm-integration"})


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _questions(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Built:
    threads: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # threads.REPORTING
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("conversations", "messages", "answers", "declined", "handoffs", "thumbs_up", "thumbs_down",
         "csat", "waiting"), 0))


class Month:
    """The generator: one random source, the real knowledge base, customers and agents."""

    def __init__(self, kb: KnowledgeBase, end: datetime, customers: list[dict[str, Any]],
                 agents: list[dict[str, Any]], rng: random.Random) -> None:
        self.kb, self.end, self.rng = kb, end, rng
        self.customers, self.agents = customers, agents
        sets = [*_questions(ROOT / "bench" / "kb_questions.json"),
                *_questions(ROOT / "bench" / "kb_questions_blind.json")]
        asked = [q for q in sets if q.get("slugs") and NEVER_ASKED.isdisjoint(q["slugs"])]
        self.answerable = [q for q in asked if not q.get("history")]
        self.follow_ups = [q for q in asked if q.get("history")]
        self.off_topic = [q["question"] for q in sets if not q.get("slugs")]
        self.built = Built()

    # Time ---------------------------------------------------------------------------------

    def start_times(self) -> list[datetime]:
        """When conversations start: ~26 a weekday and ~9 a weekend day, growing a little over
        the month, mostly in the day (UTC)."""
        starts = []
        first = (self.end - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(DAYS):
            midnight = first + timedelta(days=day)
            base = 9 if midnight.weekday() >= 5 else 26
            for _ in range(max(1, round(self.rng.gauss(base * (0.9 + 0.2 * day / DAYS), base * 0.15)))):
                hour = min(23.99, max(0.0, self.rng.gauss(14, 4)))
                when = midnight + timedelta(hours=hour)
                if when < self.end - timedelta(minutes=20):
                    starts.append(when)
        return sorted(starts)

    @staticmethod
    def office_hours(when: datetime) -> bool:
        return when.weekday() < 5 and 8 <= when.hour < 18

    def reply_wait(self, handoff: datetime) -> timedelta:
        if self.office_hours(handoff):
            return timedelta(seconds=max(40.0, self.rng.lognormvariate(5.4, 0.7)))  # median ~4 minutes
        morning = handoff.replace(hour=8, minute=0, second=0, microsecond=0)
        if handoff.hour >= 8:
            morning += timedelta(days=1)
        while morning.weekday() >= 5:
            morning += timedelta(days=1)
        return morning - handoff + timedelta(minutes=self.rng.uniform(3, 45))

    # One conversation ---------------------------------------------------------------------

    def conversation(self, started: datetime, queue: str = "") -> None:
        """One conversation from `started`; `queue` "waiting" or "assigned" makes it one the team
        has not answered yet, or is answering now."""
        rng, built = self.rng, self.built
        person = rng.choice(self.customers)
        chat_id = secrets.token_hex(8)
        owner = str(person["_id"])
        messages: list[dict[str, Any]] = []
        clock = started
        thread: dict[str, Any] = {
            "_id": chat_id, "owner": owner, "created_at": started, "created_ms": _ms(started),
            "status": "bot", "customer_name": person["display_name"], "customer_email": person["email"],
            "guest": False,
            "team_unread": False, "notice": "", "summary": "", "answers": 0, "declines": 0,
            "last_declined": False, "thumbs_up": 0, "thumbs_down": 0, "asked": 0, "demo": True}

        def message(role: str, content: str, at: datetime, **fields: Any) -> dict[str, Any]:
            doc = {"_id": ObjectId(), "owner": owner, "chat_id": chat_id, "role": role, "content": content,
                   "status": "sent", "model": "", "client_id": fields.pop("client_id", uuid.uuid4().hex),
                   "created_at": at, "created_ms": _ms(at), "sources": [], "author": "", "declined": False,
                   "demo": True, **fields}
            messages.append(doc)
            thread["asked"] += role == USER
            return doc

        kind = rng.choices(("kb", "follow-up", "gap", "off-topic", "person", "small-talk"),
                           (58, 8, 17, 7, 6, 4))[0] if not queue else rng.choice(("gap", "person", "kb"))
        turns: list[tuple[str, str | None, str | None]] = []  # (question, the article it needs, gap)
        if kind == "kb":
            for q in rng.sample(self.answerable, rng.choices((1, 2, 3), (70, 24, 6))[0]):
                turns.append((q["question"], q["slugs"][0], None))
        elif kind == "follow-up":
            q = rng.choice(self.follow_ups)
            turns = [(h, None, None) for h in q["history"]] + [(q["question"], q["slugs"][0], None)]
        elif kind == "gap":
            gap = rng.choices(list(GAP_WEIGHTS), list(GAP_WEIGHTS.values()))[0]
            turns = [(rng.choice(GAPS[gap]), None, gap)]
        elif kind == "off-topic":
            turns = [(rng.choice(self.off_topic), None, "off-topic")]
        elif kind == "small-talk":
            turns = [(rng.choice(SMALL_TALK), None, None)]

        wants_person = kind == "person" or bool(queue)
        asked: list[str] = []
        for text, needed, gap in turns:
            clock += timedelta(seconds=rng.uniform(5, 90))
            question = message(USER, text, clock)
            asked.append(text)
            clock += timedelta(seconds=rng.uniform(2, 8))
            answer = self.answer(text, asked[:-1][-2:], needed, gap)
            doc = message(ASSISTANT, answer["content"], clock,
                          client_id=question["client_id"] + ANSWER_SUFFIX,
                          status=answer["status"], model=MODEL_NAME, sources=answer["sources"],
                          declined=answer["declined"], error=answer["error"])
            if answer["status"] in ("complete", "stopped"):
                thread["answers"] += 1
                thread["declines"] += int(answer["declined"])
                thread["last_declined"] = answer["declined"]
                built.counts["answers"] += 1
                built.counts["declined"] += int(answer["declined"])
                rating = self.rating(answer, needed, gap)
                if rating:
                    value, reasons, comment = rating
                    doc |= {"feedback": value, "feedback_reasons": list(reasons), "feedback_comment": comment,
                            "feedback_at": _ms(clock + timedelta(seconds=rng.uniform(10, 120)))}
                    thread[f"thumbs_{value}"] += 1
                    built.counts[f"thumbs_{value}"] += 1
                    if value == "down" and rng.random() < 0.3:
                        wants_person = True
                self.report(doc, text)
            if answer["declined"] and (rng.random() < 0.45 or queue):
                wants_person = True
                break
        if not wants_person and turns and rng.random() < 0.03:
            wants_person = True

        if wants_person:
            clock = self.handoff(thread, messages, message, clock, kind, queue)
        elif thread["answers"] and not thread["thumbs_down"] and rng.random() < 0.22 \
                and clock < self.end - timedelta(minutes=10):
            clock += timedelta(minutes=rng.uniform(1, 6))  # "This solved my problem"
            message(ACTIVITY, "The conversation was closed as solved.", clock,
                    client_id=f"activity:{uuid.uuid4().hex}")
            self.close(thread, clock, "customer", solved=True)
        if not messages:
            return
        last = messages[-1]
        first = messages[0]
        thread |= {"title": title_from(first["content"]) if first["role"] == USER else "Talk to a person",
                   "updated_at": last["created_ms"],
                   "preview": shortened(next((m["content"] for m in reversed(messages) if m["content"]), ""),
                                        PREVIEW_LENGTH)}
        built.threads.append(thread)
        built.messages += messages
        built.counts["conversations"] += 1
        built.counts["messages"] += len(messages)

    def report(self, answer: dict[str, Any], question: str) -> None:
        """The answer's reporting records, as threads.py and feedback.py write them."""
        message_id, feedback = str(answer["_id"]), answer.get("feedback")
        records = citation_events(message_id, answer["chat_id"], answer["owner"], answer["created_ms"],
                                  answer["sources"], feedback)
        if answer["declined"] or feedback == "down":
            records.append(gap_event(message_id, answer["chat_id"], answer["owner"], answer["created_ms"],
                                     question, declined=answer["declined"], feedback=feedback,
                                     reasons=answer.get("feedback_reasons", ())))
        self.built.records += [record | {"demo": True} for record in records]

    def answer(self, text: str, recent: list[str], needed: str | None, gap: str | None) -> dict[str, Any]:
        """The built-in responder's answer: its retrieval, its sources, its decline."""
        greeting = small_talk_reply(text)
        if greeting:
            return {"content": greeting, "sources": [], "declined": False, "status": "complete", "error": ""}
        retrieval = self.kb.search(text, recent)
        sources: list[str] = []
        if retrieval.covered:
            best = retrieval.hits[0]
            sources = [h.passage.id for h in retrieval.hits
                       if h.passage.slug == best.passage.slug or h.score >= SECOND_PASSAGE_RATIO * best.score]
        content = compose_answer(text, retrieval)
        roll = self.rng.random()
        if roll < 0.01:  # the provider failed mid-answer: kept, marked interrupted, not counted
            return {"content": content[: len(content) // 3], "sources": sources, "declined": False,
                    "status": "failed", "error": "The answer was interrupted. Press Retry to ask again."}
        status = "stopped" if roll < 0.02 else "complete"
        return {"content": content, "sources": sources, "declined": not retrieval.covered, "status": status,
                "error": ""}

    def rating(self, answer: dict[str, Any], needed: str | None, gap: str | None
               ) -> tuple[str, tuple[str, ...], str] | None:
        rng = self.rng
        top = self.kb.passage(answer["sources"][0]).slug if answer["sources"] and \
            self.kb.passage(answer["sources"][0]) else None
        if answer["declined"]:
            return ("down", ("unanswered",), "") if rng.random() < 0.15 else None
        wrong = (needed is not None and top != needed) or gap is not None
        roll = rng.random()
        if wrong:
            if roll < 0.55:
                return "down", rng.choice(REASONS_WRONG), ""
            return ("up", (), "") if roll < 0.6 else None
        if roll < 0.34:
            return "up", (), ""
        if roll < 0.38:
            reasons = rng.choice(REASONS_UNCLEAR)
            return "down", reasons, rng.choice(OTHER_COMMENTS) if "other" in reasons else ""
        return None

    def handoff(self, thread: dict[str, Any], messages: list[dict[str, Any]], message, clock: datetime,
                kind: str, queue: str) -> datetime:
        rng, built = self.rng, self.built
        if kind == "person" or not messages:
            clock += timedelta(seconds=rng.uniform(5, 60))
            message(USER, rng.choice(PERSON), clock)
        clock += timedelta(seconds=rng.uniform(3, 30))
        message(ACTIVITY, "Handed over to the support team.", clock, client_id=f"activity:{uuid.uuid4().hex}")
        built.counts["handoffs"] += 1
        thread |= {"status": "waiting", "handoff_at": _ms(clock), "waiting_since": _ms(clock),
                   "team_unread": True,
                   "notice": "You're in the queue; the team usually replies within 5 minutes.",
                   "summary": extractive([_as_message(m) for m in messages], self.kb, asks_for_person)}
        replied = clock + (timedelta(minutes=rng.uniform(1, 6)) if queue else self.reply_wait(clock))
        if queue == "waiting" or replied > self.end - timedelta(minutes=3):  # nobody has it yet
            built.counts["waiting"] += 1
            return clock
        agent = rng.choice(self.agents)
        name = agent["display_name"]
        message(ACTIVITY, f"{name} from Support joined.", replied, author=name,
                client_id=f"activity:{uuid.uuid4().hex}")
        gap = next((g for g, qs in GAPS.items() if any(m["content"] in qs for m in messages)), None)
        first = thread["customer_name"].split()[0]
        text = GAP_REPLIES.get(gap or "", f"Hi {first}, {name} here. I've looked into this for you: it's "
                                          "sorted on our side now, and I've added a note to your account.")
        reply_at = replied + timedelta(seconds=rng.uniform(20, 150))
        message(AGENT_MESSAGE, text, reply_at, author=name)
        thread |= {"status": "assigned", "assignee": str(agent["_id"]), "assignee_name": name,
                   "waiting_since": None, "first_human_reply_at": _ms(reply_at), "team_unread": False,
                   "notice": f"{name} from Support is with you."}
        clock = reply_at
        if queue == "assigned" or clock > self.end - timedelta(hours=1) or rng.random() < 0.04:
            return clock  # still being helped (what follows takes at most 35 minutes)
        if rng.random() < 0.7:
            clock += timedelta(minutes=rng.uniform(1, 8))
            message(USER, rng.choice(THANKS), clock)
            clock += timedelta(seconds=rng.uniform(20, 120))
            message(AGENT_MESSAGE, rng.choice(CLOSING_NOTES), clock, author=name)
        clock += timedelta(minutes=rng.uniform(1, 25))
        message(ACTIVITY, f"{name} closed the conversation.", clock, author=name,
                client_id=f"activity:{uuid.uuid4().hex}")
        wait = (reply_at - datetime.fromtimestamp(thread["handoff_at"] / 1000, UTC)).total_seconds()
        self.close(thread, clock, "agent", solved=wait < 900)
        return clock

    def close(self, thread: dict[str, Any], when: datetime, by: str, *, solved: bool) -> None:
        rng = self.rng
        said = "The conversation was closed as solved." if by == "customer" else \
            f"{thread.get('assignee_name', 'Support')} closed the conversation."
        thread |= {"status": "closed", "closed_at": _ms(when), "closed_by": by, "waiting_since": None,
                   "team_unread": False, "notice": f"{said} Write a message to reopen it."}
        if rng.random() < 0.55 and when < self.end - timedelta(minutes=5):
            weights = (1, 2, 8, 30, 59) if solved else (8, 17, 30, 30, 15)
            score = rng.choices((1, 2, 3, 4, 5), weights)[0]
            comment = rng.choice(CSAT_COMMENTS[score]) if rng.random() < 0.35 else ""
            thread |= {"csat": score, "csat_comment": comment,
                       "csat_at": _ms(when + timedelta(seconds=rng.uniform(15, 300)))}
            self.built.counts["csat"] += 1


def _as_message(doc: dict[str, Any]) -> Message:
    return Message(id=str(doc["_id"]), owner=doc["owner"], chat_id=doc["chat_id"], role=doc["role"],
                   content=doc["content"], status=doc["status"], model=doc.get("model", ""),
                   client_id=doc["client_id"], created_at=doc["created_at"], sources=tuple(doc["sources"]),
                   declined=doc["declined"])


def people(rng: random.Random, password_hash: str, now: datetime) -> tuple[list[dict], list[dict]]:
    """About 160 customers (a name, a business email) and the three demo agents."""
    customers, seen = [], set()
    while len(customers) < 160:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        business = rng.choice(BUSINESSES)
        username = f"demo-{first}-{last}-{business}".lower()
        if username in seen:
            continue
        seen.add(username)
        email = f"{first.lower()}@{last.lower()}-{business}.demo.invalid"
        customers.append(_account(username, email, f"{first} {last}", CUSTOMER, password_hash,
                                  now - timedelta(days=rng.uniform(31, 400))))
    agents = [_account(f"demo-{name.lower()}", f"{name.lower()}@support.demo.invalid", name, AGENT,
                       password_hash, now - timedelta(days=400)) for name in AGENTS]
    return customers, agents


def _account(username: str, email: str, name: str, role: str, password_hash: str, since: datetime) -> dict:
    return {"_id": ObjectId(), "username": username, "username_key": username.casefold(), "email": email,
            "email_key": email.casefold(), "password_hash": password_hash, "token_version": 0,
            "created_at": since, "role": role, "active": True, "display_name": name, "demo": True}


async def main(reset: bool) -> int:
    settings = get_settings()
    store = Store(settings.mongodb_uri, settings.mongodb_db, settings.db_timeout_ms)
    started = time.monotonic()
    try:
        await store.ensure_indexes()
        await Threads(store.db).ensure_indexes()
        db = store.db
        existing = await db["threads"].count_documents({"demo": True})
        if existing and not reset:
            print(f"demo-data: the database {settings.mongodb_db!r} already has demo data ({existing} "
                  "conversations); nothing added. `make demo-data RESET=1` replaces it.")
            return 0
        if reset:
            removed = (await db["threads"].delete_many({"demo": True})).deleted_count
            await db["messages"].delete_many({"demo": True})
            await db[REPORTING].delete_many({"demo": True})
            await db["users"].delete_many({"demo": True})
            print(f"demo-data: removed the earlier demo data ({removed} conversations)")
        rng = random.Random(SEED)
        now = datetime.now(UTC).replace(microsecond=0)
        customers, agents = people(rng, hash_password(secrets.token_urlsafe(32)), now)
        month = Month(KnowledgeBase.load(settings.knowledge_dir), now, customers, agents, rng)
        for when in month.start_times():
            month.conversation(when)
        for queue in ("waiting", "waiting", "waiting", "assigned", "assigned"):  # the inbox has work to do
            month.conversation(now - timedelta(minutes=rng.uniform(15, 100)), queue)
        built = month.built
        await db["users"].insert_many(customers + agents)
        for at in range(0, len(built.threads), 500):
            await db["threads"].insert_many(built.threads[at:at + 500])
        for at in range(0, len(built.messages), 1000):
            await db["messages"].insert_many(built.messages[at:at + 1000])
        for at in range(0, len(built.records), 1000):
            await db[REPORTING].insert_many(built.records[at:at + 1000])
    finally:
        store.close()
    c = built.counts
    print(f"demo-data: {c['conversations']} conversations and {c['messages']} messages over the last "
          f"{DAYS} days in {settings.mongodb_db!r} ({time.monotonic() - started:.1f} s): "
          f"{c['answers']} answers, "
          f"{c['declined']} declined, {c['handoffs']} handed to the team ({c['waiting']} still waiting), "
          f"{c['thumbs_up']} thumbs up, {c['thumbs_down']} down, {c['csat']} CSAT ratings.")
    print("demo-data: log in as an agent or admin (make admin EMAIL=...) and open /inbox/insights.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="remove earlier demo data first")
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.reset)))

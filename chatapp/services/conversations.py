"""Conversations between a customer, the assistant and the support team: the one service that
stores what anyone writes and moves a conversation through its life.

    the assistant answers (bot) -> waiting for a person -> with an agent (assigned) -> closed

Every method takes the acting user and checks, itself, that they may do it: a customer reaches
only their own conversations, the team reaches all of them, and only the team moves them
between people. Each change is stored first, then told to every page watching (`Feed`): the
conversation's own stream, and the team's queue. Status changes are messages too ("Alex joined"),
so every page shows the history in one order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.errors import PyMongoError

from chatapp.models import (
    ACTIVITY,
    AGENT_MESSAGE,
    ASSIGNED,
    ASSISTANT,
    BOT,
    CLOSED,
    USER,
    WAITING,
    Message,
    Thread,
    User,
)
from chatapp.services.assistant import Assistant
from chatapp.services.cache import HistoryCache
from chatapp.services.feed import Feed
from chatapp.services.hours import SupportHours
from chatapp.services.knowledge import cited_articles, compose_answer
from chatapp.services.llm.base import ChatTurn, LLMError, Question
from chatapp.services.llm.openrouter import OpenRouterProvider
from chatapp.services.presence import ONLINE, Presence
from chatapp.services.ratelimit import RateLimiter, take, wait_phrase
from chatapp.services.store import Users
from chatapp.services.summary import summarize
from chatapp.services.threads import Threads

log = logging.getLogger(__name__)
CLOSING = ("The service is restarting. Your message is kept here and can be sent again in a "
           "moment with Retry.")
STORE_DOWN = ("Your message could not be saved: the service is having trouble reaching its "
              "database. It is kept here; press Retry in a moment.")
SUMMARY_FLUSH_SECONDS = 0.1
RECENT_HANDOFFS = timedelta(days=7)
# A message that only asks for a person ("can I talk to someone?", "agent please", "human").
_PERSON = (r"(?:a |an |some |real |live |actual )*"
           r"(?:person|human|agent|someone|somebody|representative|rep|operator|people|staff|support team)")
ASKS_FOR_PERSON = re.compile(
    rf"^(?:(?:hi|hey|hello|ok|okay|please|pls|no|yes)[,!.]?\s+)*"
    rf"(?:(?:can|could|may) i |i (?:want|need|would like|wanna) (?:to )?|i'd like to |let me |pls |please )?"
    rf"(?:(?:talk|speak|chat) (?:to|with) {_PERSON}|{_PERSON})"
    rf"(?:\s+(?:please|pls|now|asap))*[\s?!.]*$")


class SendRejected(Exception):
    """The message was not stored; `str(error)` tells the user why."""


class ThreadNotFound(Exception):
    """No such conversation for this user (also what another customer's conversation looks like)."""


class NotAllowed(Exception):
    """The user's role may not do this; `str(error)` says so in a sentence."""


def asks_for_person(text: str) -> bool:
    words = " ".join(text.lower().replace("’", "'").split())
    return len(words.split()) <= 10 and bool(ASKS_FOR_PERSON.match(words))


@dataclass(frozen=True)
class Policy:
    max_chars: int
    messages_per_minute: int
    guest_messages_per_minute: int = 10  # a visitor without an account, in the website widget


class Conversations:
    def __init__(self, threads: Threads, cache: HistoryCache, feed: Feed, assistant: Assistant,
                 limiter: RateLimiter, users: Users, policy: Policy, hours: SupportHours,
                 presence: Presence, summary_model: OpenRouterProvider | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.threads = threads
        self.cache = cache
        self.feed = feed
        self.assistant = assistant
        self.limiter = limiter
        self.users = users
        self.policy = policy
        self.hours = hours
        self.presence = presence
        self.summary_model = summary_model
        self.clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    # Who may see what ------------------------------------------------------------------------

    async def visible(self, viewer: User, chat_id: str) -> Thread:
        """The conversation, if `viewer` owns it or is on the team."""
        thread = await (self.threads.get_any(chat_id) if viewer.on_team
                        else self.threads.get(viewer.id, chat_id))
        if thread is None:
            raise ThreadNotFound(chat_id)
        return thread

    def _team(self, actor: User) -> None:
        if not actor.on_team:
            raise NotAllowed("Only the support team can do that.")

    async def history(self, thread: Thread) -> list[Message]:
        return await self.cache.history(thread.owner, thread.id)

    async def sidebar(self, customer: User) -> list[Thread]:
        return await self.threads.list(customer.id)

    # The customer ----------------------------------------------------------------------------

    async def post(self, customer: User, chat_id: str, text: str, client_id: str
                   ) -> tuple[Thread, Message, bool]:
        """Store the customer's message once per client id and pass it on: to the assistant,
        or to the team when a person has the conversation. (thread, message, newly stored); a
        replay (an outbox resend, a double click) stores nothing and starts nothing new."""
        try:
            return await self._post(customer, chat_id, text, client_id)
        except PyMongoError as error:
            raise SendRejected(STORE_DOWN) from error

    async def _post(self, customer: User, chat_id: str, text: str, client_id: str
                    ) -> tuple[Thread, Message, bool]:
        if self.assistant.closing:
            raise SendRejected(CLOSING)
        replayed = await self.threads.by_client_id(customer.id, client_id)
        if replayed is not None:
            thread = await self.visible(customer, replayed.chat_id)
            if replayed.role == USER and thread.status == BOT:
                await self.assistant.start(replayed)  # nothing if it has an answer on its way
            return thread, replayed, False
        text = text.strip()
        self._check_text(text)
        await self._within_limit(customer)
        if customer.is_guest:  # its account is made with its first message
            customer = await self.users.keep_guest(customer)
        thread = await self.threads.get(customer.id, chat_id) or await self.threads.create(
            customer.id, text, chat_id, customer_name=customer.name, customer_email=customer.email,
            guest=customer.is_guest)
        if thread is None:
            raise ThreadNotFound(chat_id)
        message, created = await self.threads.add_message(
            customer.id, thread.id, USER, text, client_id=client_id, status="sent")
        if not created:
            return thread, message, False
        await self.cache.append(message)
        await self.feed.message(message)
        if thread.status == CLOSED:
            thread = await self._reopen(thread, customer)
        if thread.status == BOT:
            if asks_for_person(text):
                thread = await self._hand_to_team(thread, customer)
            else:
                await self.assistant.start(message)
        else:
            thread = await self.threads.update(thread.id, {"team_unread": True}) or thread
            await self.feed.queue(thread)
        return thread, message, True

    async def _within_limit(self, customer: User) -> None:
        limit = (self.policy.guest_messages_per_minute if customer.is_guest
                 else self.policy.messages_per_minute)
        wait = await take(self.limiter, f"ai:{customer.id}", limit, 60)
        if wait:
            raise SendRejected(f"You've reached the limit of {limit} messages a minute. "
                               f"Please try again {wait_phrase(wait)}.")

    def _check_text(self, text: str) -> None:
        if not text:
            raise SendRejected("Type a message first.")
        if len(text) > self.policy.max_chars:
            raise SendRejected(
                f"Messages can be at most {self.policy.max_chars:,} characters; "
                f"yours has {len(text):,}. Please shorten it.")

    async def request_person(self, customer: User, chat_id: str) -> Thread:
        """"Talk to a person": the conversation waits in the team's queue (a new chat, with
        nothing written yet, is created for it)."""
        if customer.is_guest:
            customer = await self.users.keep_guest(customer)
        thread = await self.threads.get(customer.id, chat_id) or await self.threads.create(
            customer.id, "Talk to a person", chat_id, customer_name=customer.name,
            customer_email=customer.email, guest=customer.is_guest)
        if thread is None:
            raise ThreadNotFound(chat_id)
        if thread.status in (WAITING, ASSIGNED):
            return thread
        return await self._hand_to_team(thread, customer)

    async def retry(self, customer: User, chat_id: str) -> None:
        """Answer again the last question, when its answer failed or was interrupted."""
        thread = await self.visible(customer, chat_id)
        history = await self.threads.messages(thread.owner, thread.id)
        questions = [m for m in history if m.role == USER]
        if thread.owner == customer.id and thread.status == BOT and questions:
            await self.assistant.retry(questions[-1])

    async def stop(self, customer: User, chat_id: str) -> None:
        thread = await self.visible(customer, chat_id)
        if thread.owner == customer.id:
            await self.assistant.stop(thread.id)

    async def rename(self, customer: User, chat_id: str, title: str) -> None:
        if await self.threads.rename(customer.id, chat_id, title):
            thread = await self.threads.get(customer.id, chat_id)
            if thread is not None:
                await self.feed.conversation(thread)

    async def delete(self, customer: User, chat_id: str) -> None:
        if await self.threads.delete(customer.id, chat_id):
            await self.cache.invalidate(customer.id, chat_id)
            await self.feed.removed(chat_id)

    async def clear(self, customer: User) -> None:
        threads = await self.threads.list(customer.id, limit=10_000)
        await self.threads.clear(customer.id)
        await self.cache.invalidate(customer.id)
        for thread in threads:
            await self.feed.removed(thread.id)

    # The team --------------------------------------------------------------------------------

    async def reply(self, agent: User, chat_id: str, text: str, client_id: str
                    ) -> tuple[Thread, Message, bool]:
        """A person's message in the conversation; replying to a waiting conversation claims it."""
        self._team(agent)
        try:
            thread = await self.visible(agent, chat_id)
            replayed = await self.threads.by_client_id(thread.owner, client_id)
            if replayed is not None:
                return thread, replayed, False
            text = text.strip()
            self._check_text(text)
            if thread.status != ASSIGNED:  # replying to one nobody has takes it
                thread = await self._assign(thread, agent, agent, states=(BOT, WAITING, CLOSED)) or \
                    await self.visible(agent, chat_id)
            message, created = await self.threads.add_message(
                thread.owner, thread.id, AGENT_MESSAGE, text, client_id=client_id, status="sent",
                author=agent.name)
        except PyMongoError as error:
            raise SendRejected(STORE_DOWN) from error
        if created:
            await self.cache.append(message)
            await self.feed.message(message)
            fields = {"team_unread": False}
            if thread.first_human_reply_at is None:
                fields["first_human_reply_at"] = self.clock()
            thread = await self.threads.update(thread.id, fields) or thread
            await self.feed.queue(thread)
        return thread, message, created

    async def claim(self, agent: User, chat_id: str) -> Thread:
        """Take a conversation nobody has; one another agent has is theirs (use Assign to)."""
        self._team(agent)
        thread = await self.visible(agent, chat_id)
        claimed = await self._assign(thread, agent, agent, states=(BOT, WAITING, CLOSED))
        if claimed is None:
            taken = await self.visible(agent, chat_id)
            raise NotAllowed(f"{taken.assignee_name or 'Someone'} already has this conversation.")
        return claimed

    async def assign(self, agent: User, chat_id: str, to_user_id: str) -> Thread:
        self._team(agent)
        assignee = await self.users.get(to_user_id)
        if assignee is None or not assignee.on_team:
            raise NotAllowed("Choose someone on the support team.")
        return await self._assign(await self.visible(agent, chat_id), assignee, agent) or \
            await self.visible(agent, chat_id)

    async def hand_back(self, agent: User, chat_id: str) -> Thread:
        """The assistant answers the customer again."""
        self._team(agent)
        thread = await self.visible(agent, chat_id)
        updated = await self.threads.update(
            thread.id, {"status": BOT, "assignee": "", "assignee_name": "", "waiting_since": None,
                        "team_unread": False, "notice": ""}, states=(WAITING, ASSIGNED))
        if updated is None:
            return thread
        await self._activity(updated, f"{agent.name} handed the conversation back to the assistant.", agent)
        await self.feed.conversation(updated)
        return updated

    async def close(self, actor: User, chat_id: str) -> Thread:
        """Closed by an agent, or by the customer themselves ("This solved my problem")."""
        thread = await self.visible(actor, chat_id)
        if not actor.on_team and thread.owner != actor.id:
            raise ThreadNotFound(chat_id)
        by = (f"{actor.name} closed the conversation." if actor.on_team
              else "The conversation was closed as solved.")
        updated = await self.threads.update(
            thread.id, {"status": CLOSED, "closed_at": self.clock(), "waiting_since": None,
                        "closed_by": "agent" if actor.on_team else "customer",
                        "team_unread": False,
                        "notice": f"{by} Write a message to reopen it."},
            states=(BOT, WAITING, ASSIGNED))
        if updated is None:
            return thread
        await self._activity(updated, by, actor)
        await self.feed.conversation(updated)
        return updated

    async def announce(self, viewer: User, chat_id: str, message_id: str | None = None) -> None:
        """Tell every page watching the conversation that it (or one message: a rating) changed."""
        thread = await self.visible(viewer, chat_id)
        if message_id is None:
            await self.feed.conversation(thread, team=False)
        elif (message := await self.threads.message(thread.owner, message_id)) is not None:
            await self.cache.append(message)  # the next snapshot shows it too
            await self.feed.message(message)

    async def mark_read(self, agent: User, chat_id: str) -> None:
        self._team(agent)
        thread = await self.visible(agent, chat_id)
        if thread.team_unread:
            updated = await self.threads.update(thread.id, {"team_unread": False})
            if updated is not None:
                await self.feed.queue(updated)

    async def queue(self, agent: User, closed: int = 100) -> list[Thread]:
        """The conversations the team's inbox lists: every open one people are involved in, and
        the most recently closed."""
        self._team(agent)
        return [*await self.threads.team_queue((WAITING, ASSIGNED), 5_000),
                *await self.threads.team_queue((CLOSED,), closed)]

    async def search(self, agent: User, query: str) -> list[Thread]:
        self._team(agent)
        return await self.threads.search(query) if query.strip() else []

    async def customer(self, agent: User, thread: Thread) -> tuple[User | None, list[Thread]]:
        """Who the customer is, and their other conversations."""
        self._team(agent)
        others = [t for t in await self.threads.list(thread.owner, 20) if t.id != thread.id]
        return await self.users.get(thread.owner), others

    async def suggest(self, agent: User, chat_id: str) -> str:
        """A draft reply to the customer's last message, from the knowledge base, with its
        sources as links; the agent edits it before sending (nothing is sent here)."""
        self._team(agent)
        thread = await self.visible(agent, chat_id)
        history = await self.history(thread)
        asked = [m for m in history if m.role == USER]
        if not asked:
            return ""
        kb = self.feed.knowledge()
        retrieval = kb.search(asked[-1].content, [m.content for m in asked[:-1]][-2:])
        turns = [ChatTurn(role=USER if m.role == USER else ASSISTANT, content=m.content)
                 for m in history[:-1] if m.content and m.role in (USER, AGENT_MESSAGE, ASSISTANT)]
        question = Question(asked[-1].content, turns, retrieval)
        try:
            text = "".join([d.text async for d in self.assistant.provider.answer(question)])
        except LLMError:
            text = compose_answer(asked[-1].content, retrieval)
        links = [f"[{title}](/help/{slug})" for slug, title in cited_articles(kb, (
            hit.passage.id for hit in retrieval.hits))] if retrieval.covered else []
        return text.strip() + (f"\n\nSources: {', '.join(links)}" if links else "")

    async def typical_wait_minutes(self) -> int | None:
        """Median minutes from a handoff to the first person's reply, over the last week."""
        recent = await self.threads.handoffs_since(self.clock() - RECENT_HANDOFFS)
        waits = [(t.first_human_reply_at - t.handoff_at).total_seconds() / 60 for t in recent
                 if t.first_human_reply_at and t.handoff_at and t.first_human_reply_at >= t.handoff_at]
        return max(1, round(statistics.median(waits) + 0.499)) if waits else None

    # Moving a conversation -------------------------------------------------------------------

    async def _queue_notice(self) -> str:
        now = self.clock()
        if not self.hours.is_open(now):
            return (f"Our team is away right now and back {self.hours.back_phrase(now)}. "
                    "Your request is in the queue, and the answer will appear here in this conversation.")
        if ONLINE not in (await self.presence.statuses()).values():
            return ("No one from the team is online right now. Your request is in the queue, and a "
                    "person will reply here in this conversation as soon as someone is back.")
        minutes = await self.typical_wait_minutes()
        if minutes is None:
            return "You're in the queue. A person from the team will reply here shortly."
        return (f"You're in the queue; the team usually replies within {minutes} "
                f"minute{'s' if minutes != 1 else ''}.")

    async def _hand_to_team(self, thread: Thread, customer: User) -> Thread:
        now = self.clock()
        updated = await self.threads.update(
            thread.id, {"status": WAITING, "waiting_since": now, "handoff_at": now,
                        "team_unread": True, "notice": await self._queue_notice(), "summary": ""},
            states=(BOT, CLOSED))
        if updated is None:
            return await self.visible(customer, thread.id)
        await self._activity(updated, "Handed over to the support team.", customer)
        await self.feed.conversation(updated)
        self._spawn(self._write_summary(updated))
        return updated

    async def _assign(self, thread: Thread, assignee: User, by: User,
                      states: tuple[str, ...] = (BOT, WAITING, ASSIGNED, CLOSED)) -> Thread | None:
        """Give the conversation to `assignee`, only from one of `states` (atomically: of two
        agents claiming at once, one gets it); None when it was not in them any more."""
        if thread.status == ASSIGNED and thread.assignee == assignee.id:
            return thread
        fields = {"status": ASSIGNED, "assignee": assignee.id, "assignee_name": assignee.name,
                  "waiting_since": None, "notice": f"{assignee.name} from Support is with you."}
        if thread.handoff_at is None:  # an agent stepped in before anyone asked
            fields["handoff_at"] = self.clock()
        updated = await self.threads.update(thread.id, fields, states=states)
        if updated is None:
            return None
        text = (f"{assignee.name} from Support joined." if assignee.id == by.id
                else f"{by.name} assigned the conversation to {assignee.name}.")
        await self._activity(updated, text, by)
        await self.feed.conversation(updated)
        return updated

    async def _reopen(self, thread: Thread, customer: User) -> Thread:
        """A customer writing in a closed conversation reopens it: to the same agent if that agent
        is still on the team, else to the queue; one the assistant had, to the assistant."""
        agent = await self.users.get(thread.assignee) if thread.assignee else None
        if agent is not None and agent.on_team:
            fields = {"status": ASSIGNED, "notice": f"{agent.name} from Support is with you."}
        elif thread.handoff_at is not None:
            fields = {"status": WAITING, "waiting_since": self.clock(), "assignee": "",
                      "assignee_name": "", "notice": await self._queue_notice()}
        else:
            fields = {"status": BOT, "notice": ""}
        updated = await self.threads.update(thread.id, {**fields, "closed_at": None, "team_unread": True},
                                            states=(CLOSED,))
        if updated is None:
            return thread
        await self._activity(updated, "The conversation was reopened.", customer)
        await self.feed.conversation(updated)
        return updated

    async def _activity(self, thread: Thread, text: str, by: User) -> None:
        message, _ = await self.threads.add_message(
            thread.owner, thread.id, ACTIVITY, text, client_id=f"activity:{uuid.uuid4().hex}",
            status="sent", author=by.name if by.on_team else "")
        await self.cache.append(message)
        await self.feed.message(message)

    async def _write_summary(self, thread: Thread) -> None:
        messages = await self.threads.messages(thread.owner, thread.id)
        shown = 0.0

        async def show(text: str) -> None:
            nonlocal shown
            if time.monotonic() - shown >= SUMMARY_FLUSH_SECONDS:
                shown = time.monotonic()
                await self.feed.summary(thread.id, text)

        text = await summarize(messages, self.feed.knowledge(), self.summary_model, show, asks_for_person)
        updated = await self.threads.update(thread.id, {"summary": text})
        await self.feed.summary(thread.id, text)
        if updated is not None:
            await self.feed.queue(updated)

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    async def drain(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)

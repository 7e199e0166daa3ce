"""What customers say about the help they got: a thumbs up or down under each answer (with
reasons when it is down), and a 1-to-5 rating (CSAT) of a closed conversation.

Both are kept on the record they judge: an answer's rating on its message (beside its sources
and the model that wrote it), a conversation's rating on the conversation. The same call keeps
what the insights count in step: the conversation's tally of answers rated up and down
(`thumbs_up`, `thumbs_down`: "resolved by the assistant" is then a match on one document), the
answer's citation records (each article's thumbs-up share) and its gap record (a thumbs-down
answer's question is a knowledge gap, see threads.REPORTING).

Only the customer who owns the conversation rates it, once per answer (a new rating replaces the
old one) and once per conversation; the support team reads ratings but never gives them.
Times are stored as epoch milliseconds (the embedded nx-27017 keeps a datetime given to `$set`
as a string).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ReturnDocument

from chatapp.models import ASSISTANT, CLOSED, User
from chatapp.services.conversations import NotAllowed, ThreadNotFound
from chatapp.services.threads import ANSWER_SUFFIX, CITED, COUNTED, GAP, REPORTING, gap_event

UP, DOWN = "up", "down"
RATINGS = (UP, DOWN)
# Why an answer was not helpful, as the customer picks them; "other" goes with free text.
REASONS: dict[str, str] = {
    "wrong": "Wrong",
    "unanswered": "Didn't answer my question",
    "unclear": "Not clear",
    "other": "Other",
}
MAX_COMMENT = 500  # characters of the free text under a thumbs down
MAX_CSAT_COMMENT = 1000  # characters of the comment with a conversation's rating
SCORES = range(1, 6)


class InvalidFeedback(ValueError):
    """The rating, a reason or the comment is not acceptable; `str(error)` says which."""


class AnswerNotFound(Exception):
    """No such answer for this customer (also what another customer's answer looks like)."""


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else None


def _text(comment: str, limit: int) -> str:
    text = " ".join((comment or "").split())
    if len(text) > limit:
        raise InvalidFeedback(f"The comment can be at most {limit:,} characters; it has {len(text):,}.")
    return text


@dataclass(frozen=True)
class AnswerFeedback:
    """One answer's rating as its customer left it (`rating` None: not rated, or taken back)."""

    message_id: str
    chat_id: str
    rating: str | None
    reasons: tuple[str, ...] = ()
    comment: str = ""
    rated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["reasons"] = list(self.reasons)
        row["rated_at"] = _ms(self.rated_at) if self.rated_at else None
        return row


@dataclass(frozen=True)
class ConversationRating:
    """A conversation's CSAT: `score` 1 to 5 or None; `can_rate` when the viewer is its customer
    and it is closed (a closed conversation can be rated, and re-rated, by its customer)."""

    chat_id: str
    score: int | None
    comment: str = ""
    rated_at: datetime | None = None
    can_rate: bool = False

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["rated_at"] = _ms(self.rated_at) if self.rated_at else None
        return row


def _answer_feedback(doc: dict[str, Any]) -> AnswerFeedback:
    return AnswerFeedback(
        message_id=str(doc["_id"]), chat_id=doc["chat_id"], rating=doc.get("feedback") or None,
        reasons=tuple(doc.get("feedback_reasons") or ()), comment=doc.get("feedback_comment") or "",
        rated_at=_time(doc.get("feedback_at")))


def checked_answer_rating(rating: str | None, reasons: Iterable[str] = (), comment: str = ""
                          ) -> tuple[str | None, list[str], str]:
    """(rating, reasons, comment) as stored, or InvalidFeedback saying what is wrong. Reasons
    and free text go with a thumbs down only; free text alone counts as the reason "other"."""
    if rating not in (*RATINGS, None):
        raise InvalidFeedback("Rate an answer with a thumbs up or a thumbs down.")
    picked = list(dict.fromkeys(reasons or ()))
    unknown = [r for r in picked if r not in REASONS]
    if unknown:
        raise InvalidFeedback(f"Unknown reason {unknown[0]!r}; choose from {', '.join(REASONS)}.")
    text = _text(comment, MAX_COMMENT)
    if rating != DOWN and (picked or text):
        raise InvalidFeedback("Reasons and a comment go with a thumbs down only.")
    if text and "other" not in picked:
        picked.append("other")
    return rating, [r for r in REASONS if r in picked], text


class Feedback:
    def __init__(self, db: AsyncIOMotorDatabase,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._threads = db["threads"]
        self._messages = db["messages"]
        self._reporting = db[REPORTING]
        self.clock = clock

    @staticmethod
    def _customer(actor: User) -> None:
        if actor.on_team:
            raise NotAllowed("Only the customer can rate the help they got.")

    # Thumbs under an answer ------------------------------------------------------------------

    async def rate_answer(self, customer: User, message_id: str, rating: str | None,
                          reasons: Iterable[str] = (), comment: str = "") -> AnswerFeedback:
        """Rate one of the customer's own finished answers up or down, or take the rating back
        (`rating` None); rating again replaces the earlier rating. Raises NotAllowed (the
        support team), InvalidFeedback, AnswerNotFound (not this customer's, not an answer,
        or still being written)."""
        self._customer(customer)
        rating, picked, text = checked_answer_rating(rating, reasons, comment)
        if not ObjectId.is_valid(message_id):
            raise AnswerNotFound(message_id)
        before = await self._messages.find_one_and_update(
            {"_id": ObjectId(message_id), "owner": customer.id, "role": ASSISTANT,
             "status": {"$in": list(COUNTED)}},
            {"$set": {"feedback": rating, "feedback_reasons": picked, "feedback_comment": text,
                      "feedback_at": _ms(self.clock()) if rating else None}},
            return_document=ReturnDocument.BEFORE)
        if before is None:
            raise AnswerNotFound(message_id)
        old = before.get("feedback")
        moved = {"thumbs_up": (rating == UP) - (old == UP), "thumbs_down": (rating == DOWN) - (old == DOWN)}
        if any(moved.values()):
            await self._threads.update_one({"_id": before["chat_id"], "owner": customer.id},
                                           {"$inc": {k: v for k, v in moved.items() if v}})
        await self._report(before, rating, picked)
        return AnswerFeedback(message_id=message_id, chat_id=before["chat_id"], rating=rating,
                              reasons=tuple(picked), comment=text,
                              rated_at=self.clock() if rating else None)

    async def _report(self, answer: dict[str, Any], rating: str | None, reasons: list[str]) -> None:
        """The answer's citation records carry its rating; its gap record lives while it is
        declined or rated down."""
        message_id, declined = str(answer["_id"]), bool(answer.get("declined"))
        if answer.get("feedback") != rating:
            await self._reporting.update_many({"kind": CITED, "message_id": message_id},
                                              {"$set": {"feedback": rating}})
        if rating != DOWN and not declined:
            await self._reporting.delete_one({"_id": f"{GAP}:{message_id}"})
            return
        owner, question = answer["owner"], answer["client_id"].removesuffix(ANSWER_SUFFIX)
        asked = await self._messages.find_one({"owner": owner, "client_id": question}, {"content": 1})
        at = answer.get("created_ms") or _ms(answer["created_at"])
        record = gap_event(message_id, answer["chat_id"], owner, at, (asked or {}).get("content", ""),
                           declined=declined, feedback=rating, reasons=reasons)
        await self._reporting.replace_one({"_id": record["_id"]}, record, upsert=True)

    async def answer_feedback(self, viewer: User, chat_id: str) -> dict[str, AnswerFeedback]:
        """The rated answers of a conversation, by message id: for its customer, and the team."""
        owner = await self._owner(viewer, chat_id)
        cursor = self._messages.find(
            {"owner": owner, "chat_id": chat_id, "role": ASSISTANT, "feedback": {"$in": list(RATINGS)}},
            {"chat_id": 1, "feedback": 1, "feedback_reasons": 1, "feedback_comment": 1, "feedback_at": 1})
        return {str(doc["_id"]): _answer_feedback(doc) async for doc in cursor}

    # A closed conversation's rating (CSAT) ---------------------------------------------------

    async def rate_conversation(self, customer: User, chat_id: str, score: int,
                                comment: str = "") -> ConversationRating:
        """Rate a closed conversation 1 to 5 with an optional comment (again: replaces it).
        Raises NotAllowed (the team; or the conversation is not closed), InvalidFeedback,
        ThreadNotFound (not this customer's)."""
        self._customer(customer)
        if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
            raise InvalidFeedback("Rate the conversation from 1 to 5.")
        text = _text(comment, MAX_CSAT_COMMENT)
        stamp = self.clock()
        doc = await self._threads.find_one_and_update(
            {"_id": chat_id, "owner": customer.id, "status": CLOSED},
            {"$set": {"csat": score, "csat_comment": text, "csat_at": _ms(stamp)}},
            return_document=ReturnDocument.AFTER)
        if doc is None:
            if await self._threads.find_one({"_id": chat_id, "owner": customer.id}, {"_id": 1}) is None:
                raise ThreadNotFound(chat_id)
            raise NotAllowed("A conversation can be rated once it is closed.")
        return ConversationRating(chat_id, score, text, stamp, can_rate=True)

    async def conversation_rating(self, viewer: User, chat_id: str) -> ConversationRating:
        """The conversation's rating, and whether `viewer` may rate it now."""
        owner = await self._owner(viewer, chat_id)
        doc = await self._threads.find_one({"_id": chat_id, "owner": owner},
                                           {"status": 1, "csat": 1, "csat_comment": 1, "csat_at": 1})
        if doc is None:
            raise ThreadNotFound(chat_id)
        return ConversationRating(
            chat_id, doc.get("csat") or None, doc.get("csat_comment") or "", _time(doc.get("csat_at")),
            can_rate=not viewer.on_team and doc.get("status") == CLOSED)

    async def _owner(self, viewer: User, chat_id: str) -> str:
        """The conversation's owner, if `viewer` owns it or is on the team."""
        query = {"_id": chat_id} if viewer.on_team else {"_id": chat_id, "owner": viewer.id}
        doc = await self._threads.find_one(query, {"owner": 1})
        if doc is None:
            raise ThreadNotFound(chat_id)
        return doc["owner"]

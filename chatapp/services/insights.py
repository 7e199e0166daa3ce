"""Insights for the support team: what the assistant resolves, what it declines, how fast the
team is, what customers think, which articles it cites, and the questions nothing answers.

Counting is the database's job. Every figure is an aggregation pipeline over indexed epoch-ms
fields (`$match` on the date range, `$project` of 0/1 flags, `$group` by day), never documents
loaded into Python to count: Python adds up at most 2 x 366 per-day rows, divides, and picks
the middle of each day's durations, which the database sorted and grouped. The facts are kept
where and when they happen (Chatwoot's reporting events), so reports never reconstruct history:
- on the conversation (threads.py, feedback.py, conversations.py): `created_ms`, `handoff_at`,
  `first_human_reply_at`, `closed_at`, `closed_by`, `csat`, `csat_at`, and its tally of
  `asked` (customer messages), `answers`, `declines`, `last_declined`, `thumbs_up`, `thumbs_down`;
- in `reporting_events` (threads.REPORTING), small records: one per article an answer cited
  (with the answer's rating), one per question the help centre did not serve (declined, or
  its answer rated down), because the embedded database reads whole documents, and scanning
  100,000 messages for their sources costs seconds where these cost milliseconds.

Message figures (customer messages, answers, declines, thumbs) belong to the day their
conversation started, as everything on the conversation does; the times (first human reply,
close, CSAT) to the day they happened.

The same pipelines run on MongoDB and on the embedded nx-27017, which is why they keep to this
shape (each measured there, see tests/integration/test_insights.py):
- `$cond` in its object form (`{"if", "then", "else"}`) inside `$project`; the array form is
  refused, and `$cond` on a bare field path ("if": "$declined") too, so conditions are `$eq`s;
- `$group` on a field `$project` computed; grouping on an expression runs, but in Python
  (20x slower), and a compound `_id` ({"day": ..., "kind": ...}) is not evaluated at all;
- no `$avg` (it counts a missing value as 0 once grouped by day): sums and counts instead;
- no `$median`/`$percentile` (silently dropped), and no stage after a `$push` (nx-27017 then
  holds the array as text: `$arrayElemAt` of it falls to Python, `$addFields` gives null): a
  median is `$sort` then `$push` into the day's group, and Python takes its middle;
- no `$min` of two values, `$toDate`, `$lookup`, `$sortByCount`, window `$count`; no `$bucket`
  with `$push` (wrong results): days are epoch-ms arithmetic, cut at the period's own local
  midnights so daylight-saving days are exact;
- datetimes are not compared in `$match` (nx-27017 compares them as text): epoch ms only.

Only the support team (agents and admins) sees any of this; every method takes the acting user.
"""

from __future__ import annotations

import asyncio
import csv
import heapq
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as day_start
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection, AsyncIOMotorDatabase
from pymongo import ASCENDING, UpdateOne

from chatapp.models import ASSISTANT, USER, User
from chatapp.services.conversations import NotAllowed
from chatapp.services.feedback import DOWN, REASONS, UP
from chatapp.services.gaps import DECLINED, THUMBS_DOWN, GapQuestion, Topic, group_questions
from chatapp.services.knowledge import KnowledgeBase
from chatapp.services.threads import (
    ANSWER_SUFFIX,
    CITED,
    COUNTED,
    GAP,
    REPORTING,
    citation_events,
    cited_article_ids,
    gap_event,
)

DAY_MS = 86_400_000
PRESETS = (7, 30, 90)  # the dashboard's "last N days"
DEFAULT_DAYS = 30  # a range asked for without one
FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(9998, 12, 31)  # a previous period still has epoch ms
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_DAYS = 366
MAX_GAP_QUESTIONS = 5000  # the most recent declined and thumbs-down questions grouped per period
COUNT, SHARE, SCORE, SECONDS = "count", "share", "score", "seconds"  # a metric's unit
_IN_BATCH = 1000  # ids per `$in` when fetching questions


class InvalidPeriod(ValueError):
    """The date range is empty, reversed or longer than MAX_DAYS; `str(error)` says which."""


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _time(value: Any) -> datetime | None:
    """A stored time: epoch ms (also a datetime, or ISO text, from records written before)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC) if value else None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# The date range --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end` (both included), in the time zone `tz`."""

    start: date
    end: date
    tz: tzinfo = UTC

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidPeriod("The end of the range is before its start.")
        if self.days > MAX_DAYS:
            raise InvalidPeriod(f"Choose a range of at most {MAX_DAYS} days.")

    @classmethod
    def last(cls, days: int, now: datetime, tz: tzinfo = UTC) -> Period:
        """The last `days` days, today (in `tz`) included."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidPeriod(f"Choose from 1 to {MAX_DAYS} days.")
        today = now.astimezone(tz).date()
        return cls(today - timedelta(days=days - 1), today, tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Period:
        """As many days, just before."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.tz)

    def midnight_ms(self, day: date) -> int:
        return _ms(datetime.combine(day, day_start(), tzinfo=self.tz))

    @property
    def start_ms(self) -> int:
        return self.midnight_ms(self.start)

    @property
    def end_ms(self) -> int:
        """The first millisecond after the period."""
        return self.midnight_ms(self.end + timedelta(days=1))

    @property
    def zone(self) -> str:
        return getattr(self.tz, "key", None) or str(self.tz)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
                "timezone": self.zone}


# Pipeline pieces (pure, so the tests can run each one on nx-27017) -----------------------------

def flag(condition: dict[str, Any]) -> dict[str, Any]:
    """1 where `condition` holds, else 0 (the object form of $cond: nx-27017 refuses the array form)."""
    return {"$cond": {"if": condition, "then": 1, "else": 0}}


def is_set(path: str) -> dict[str, Any]:
    """A time or a count that is there and not 0 (missing and null alike are not)."""
    return {"$gt": [{"$ifNull": [path, 0]}, 0]}


def not_set(path: str) -> dict[str, Any]:
    return {"$eq": [{"$ifNull": [path, 0]}, 0]}


# Resolved by the assistant: it answered at least once, nobody from the team was involved, no
# answer was rated down, and its last answer was not a decline.
RESOLVED = {"$and": [is_set("$answers"), not_set("$handoff_at"), not_set("$thumbs_down"),
                     {"$ne": [{"$ifNull": ["$last_declined", False]}, True]}]}
TALLIES = ("asked", "answers", "declines", "thumbs_up", "thumbs_down")  # kept on each conversation


def day_index(path: str, boundaries: list[int]) -> dict[str, Any]:
    """The expression giving the day (0, 1, ...) of the epoch-ms time at `path`, for days that
    start at `boundaries` (local midnights; the last one ends the last day). A stretch of
    24-hour days is one division; a daylight-saving day (23 or 25 hours) starts a new stretch,
    so each day is cut exactly where it is in its own time zone."""
    days = len(boundaries) - 1
    starts = [0] + [i for i in range(1, days) if boundaries[i] - boundaries[i - 1] != DAY_MS]
    ends = [*(s - 1 for s in starts[1:]), days - 1]
    pieces: list[tuple[int, Any]] = []  # (from this time on, the day is ...)
    for first, last in zip(starts, ends, strict=True):
        pieces.append((boundaries[first], {"$add": [first, {"$floor": {"$divide": [
            {"$subtract": [path, boundaries[first]]}, DAY_MS]}}]}))
        if boundaries[last + 1] - boundaries[last] > DAY_MS:  # a 25-hour day's last hour
            pieces.append((boundaries[last] + DAY_MS, last))  # ($min is refused by nx-27017)
    expression: Any = None
    for since, piece in pieces:
        expression = piece if expression is None else {
            "$cond": {"if": {"$gte": [path, since]}, "then": piece, "else": expression}}
    return expression


def conversations_pipeline(start: int, end: int, day: dict[str, Any]) -> list[dict[str, Any]]:
    """Per day on which conversations started: how many, handed to the team, resolved by the
    assistant, and the sums of their tallies (customer messages, answers, declines, thumbs)."""
    return [
        {"$match": {"created_ms": {"$gte": start, "$lt": end}}},
        {"$project": {"day": day, "handoff": flag(is_set("$handoff_at")), "resolved": flag(RESOLVED),
                      **{name: {"$ifNull": [f"${name}", 0]} for name in TALLIES}}},
        {"$group": {"_id": "$day", "conversations": {"$sum": 1}, "handoffs": {"$sum": "$handoff"},
                    "resolved": {"$sum": "$resolved"}, **{name: {"$sum": f"${name}"} for name in TALLIES}}},
    ]


def durations_pipeline(at: str, since: str, start: int, end: int, key: dict[str, Any]
                       ) -> list[dict[str, Any]]:
    """Per `key` (a day): the durations from `since` to events at `at` in the range, sorted
    (their middle is the median; see the module's notes for why Python takes it)."""
    return [
        {"$match": {at: {"$gte": start, "$lt": end}, since: {"$gt": 0}}},
        {"$project": {"key": key, "wait": {"$subtract": [f"${at}", f"${since}"]}}},
        {"$match": {"wait": {"$gte": 0}}},
        {"$sort": {"wait": 1}},
        {"$group": {"_id": "$key", "n": {"$sum": 1}, "waits": {"$push": "$wait"}}},
    ]


def csat_pipeline(start: int, end: int, day: dict[str, Any]) -> list[dict[str, Any]]:
    """Per day of rating: how many conversations were rated, the sum of scores, and each score's count."""
    scores = {f"s{n}": flag({"$eq": ["$csat", n]}) for n in range(1, 6)}
    return [
        {"$match": {"csat_at": {"$gte": start, "$lt": end}, "csat": {"$gte": 1}}},
        {"$project": {"day": day, "score": {"$ifNull": ["$csat", 0]}, **scores}},
        {"$group": {"_id": "$day", "ratings": {"$sum": 1}, "total": {"$sum": "$score"},
                    **{name: {"$sum": f"${name}"} for name in scores}}},
    ]


def articles_pipeline(start: int, end: int) -> list[dict[str, Any]]:
    """Per article: the answers of the range that cited it, and how many of those are rated
    up and down (over the citation records, `reporting_events`)."""
    return [
        {"$match": {"kind": CITED, "at": {"$gte": start, "$lt": end}}},
        {"$project": {"article": 1, "up": flag({"$eq": ["$feedback", UP]}),
                      "down": flag({"$eq": ["$feedback", DOWN]})}},
        {"$group": {"_id": "$article", "cited": {"$sum": 1}, "up": {"$sum": "$up"},
                    "down": {"$sum": "$down"}}},
    ]


# Results -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    """One figure of the period, the same figure for the previous period, and its value per day
    (None where a day has nothing to compute it over, e.g. no rated answers)."""

    key: str
    label: str
    unit: str  # COUNT, SHARE (0 to 1), SCORE (1 to 5) or SECONDS
    value: float | None
    previous: float | None
    series: tuple[float | None, ...]
    base: int  # what the value is computed over in the period (conversations, rated answers…)
    better: str = ""  # "up", "down", or "" when neither is better

    @property
    def delta(self) -> float | None:
        """value - previous (percentage points for a share: 0.05 is 5 points)."""
        return None if self.value is None or self.previous is None else self.value - self.previous

    @property
    def change(self) -> float | None:
        """The relative change, 0.25 for +25%; None when the previous value is 0 or unknown."""
        return None if self.delta is None or not self.previous else self.delta / self.previous

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "unit": self.unit, "value": self.value,
                "previous": self.previous, "delta": self.delta, "change": self.change,
                "series": list(self.series), "base": self.base, "better": self.better}


@dataclass(frozen=True)
class Overview:
    period: Period
    previous: Period
    dates: tuple[date, ...]  # the period's days, one per entry of every metric's series
    metrics: tuple[Metric, ...]
    csat_scores: dict[int, int]  # the period's ratings: score -> how many
    elapsed_ms: float  # the database's time, as the server waited for it

    def metric(self, key: str) -> Metric:
        return next(m for m in self.metrics if m.key == key)

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period.to_dict(), "previous": self.previous.to_dict(),
                "dates": [d.isoformat() for d in self.dates],
                "metrics": [m.to_dict() for m in self.metrics],
                "csat_scores": {str(k): v for k, v in self.csat_scores.items()},
                "elapsed_ms": round(self.elapsed_ms, 1)}


@dataclass(frozen=True)
class ArticleUse:
    article_id: str
    slug: str
    title: str
    category: str
    cited: int  # answers of the period that cited it
    thumbs_up: int  # of those, rated up
    thumbs_down: int
    removed: bool = False  # cited, but no longer published

    @property
    def up_share(self) -> float | None:
        rated = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / rated if rated else None

    def to_dict(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "slug": self.slug, "title": self.title,
                "category": self.category, "cited": self.cited, "thumbs_up": self.thumbs_up,
                "thumbs_down": self.thumbs_down, "up_share": self.up_share, "removed": self.removed}


@dataclass(frozen=True)
class ArticlesReport:
    period: Period
    cited: tuple[ArticleUse, ...]  # most cited first
    never_cited: tuple[ArticleUse, ...]  # published articles no answer of the period cited, by title

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period.to_dict(), "cited": [a.to_dict() for a in self.cited],
                "never_cited": [a.to_dict() for a in self.never_cited]}


@dataclass(frozen=True)
class GapsReport:
    period: Period
    questions: int  # grouped: declined plus thumbs-down questions (at most MAX_GAP_QUESTIONS)
    declined: int
    thumbs_down: int
    topics: tuple[Topic, ...]  # biggest first
    truncated: bool = False  # there were more than MAX_GAP_QUESTIONS; the most recent were grouped

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period.to_dict(), "questions": self.questions, "declined": self.declined,
                "thumbs_down": self.thumbs_down, "topics": [t.to_dict() for t in self.topics],
                "truncated": self.truncated}


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes  # UTF-8 with a byte-order mark, so spreadsheet programs read it as UTF-8
    rows: int
    media_type: str = "text/csv; charset=utf-8"


@dataclass
class _Days:
    """Per-day rows of one pipeline, over the previous and the current period (2n days)."""

    rows: dict[int, dict[str, Any]]
    n: int

    def column(self, name: str) -> list[float]:
        return [float(self.rows.get(i, {}).get(name) or 0) for i in range(2 * self.n)]

    def waits(self, day: int) -> list[float]:
        """The day's durations in ms, sorted by the database."""
        waits = self.rows.get(day, {}).get("waits") or []
        return json.loads(waits) if isinstance(waits, str) else waits  # as text, if nx-27017 kept it so

    def medians(self) -> list[float | None]:
        """Per day of the current period, the median duration in seconds."""
        return [_median(self.waits(day)) for day in range(self.n, 2 * self.n)]

    def period_median(self, current: bool) -> tuple[float | None, int]:
        """(The median over the whole period in seconds, how many durations)."""
        days = range(self.n, 2 * self.n) if current else range(self.n)
        merged = list(heapq.merge(*(self.waits(day) for day in days)))
        return _median(merged), len(merged)


def _median(ordered: list[float]) -> float | None:
    if not ordered:
        return None
    middle = len(ordered) // 2
    low, high = ordered[(len(ordered) - 1) // 2], ordered[middle]
    return (float(low) + float(high)) / 2000


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _split(values: list[float], n: int) -> tuple[float, float]:
    """(current period's total, previous period's total)."""
    return sum(values[n:]), sum(values[:n])


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (=, +, -, @)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: list[str], rows: Iterable[list[Any]]) -> tuple[bytes, int]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        count += 1
    return ("\ufeff" + out.getvalue()).encode("utf-8"), count


class Insights:
    def __init__(self, db: AsyncIOMotorDatabase, knowledge: Callable[[], KnowledgeBase],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._threads: AsyncIOMotorCollection = db["threads"]
        self._messages: AsyncIOMotorCollection = db["messages"]
        self._reporting: AsyncIOMotorCollection = db[REPORTING]
        self.knowledge = knowledge
        self.clock = clock

    @staticmethod
    def _team(actor: User) -> None:
        if not actor.on_team:
            raise NotAllowed("Only the support team can see insights.")

    def last(self, days: int, tz: tzinfo = UTC) -> Period:
        """The last `days` days up to today, by this service's clock."""
        return Period.last(days, self.clock(), tz)

    def period(self, query: Mapping[str, str], tz: tzinfo = UTC) -> Period:
        """The range a page address or a download names: `days=N` (the last N days, today
        included), or `from=YYYY-MM-DD&to=YYYY-MM-DD` (both included); neither, the last
        DEFAULT_DAYS days. Raises InvalidPeriod, saying what to change."""
        first, last, days = query.get("from", ""), query.get("to", ""), query.get("days", "")
        if first or last:
            if not (first and last):
                raise InvalidPeriod("Choose both a start and an end date.")
            try:
                start, end = (date.fromisoformat(d) if _ISO_DAY.fullmatch(d) else None for d in (first, last))
            except ValueError:
                start = end = None
            if start is None or end is None:
                raise InvalidPeriod("Write dates as YYYY-MM-DD, like 2026-11-30.")
            if start < FIRST_DAY or end > LAST_DAY:
                raise InvalidPeriod(f"Choose dates from {FIRST_DAY.year} on.")
            return Period(start, end, tz)
        if days:
            if not (days.isdecimal() and len(days) <= 3):
                raise InvalidPeriod(f"Choose from 1 to {MAX_DAYS} days.")
            return self.last(int(days), tz)
        return self.last(DEFAULT_DAYS, tz)

    @staticmethod
    async def _rows(collection: AsyncIOMotorCollection, pipeline: list[dict[str, Any]]
                    ) -> dict[int, dict[str, Any]]:
        return {round(row["_id"]): row async for row in collection.aggregate(pipeline)
                if isinstance(row.get("_id"), int | float)}

    # The dashboard ---------------------------------------------------------------------------

    async def overview(self, actor: User, period: Period) -> Overview:
        """Every metric of `period`, per day, and against the previous period. Raises NotAllowed."""
        self._team(actor)
        started = time.perf_counter()
        previous = period.previous()
        n = period.days
        boundaries = [previous.midnight_ms(d) for d in (*previous.dates(), *period.dates())] + [period.end_ms]
        start, end = boundaries[0], boundaries[-1]

        def days(path: str) -> dict[str, Any]:
            return day_index(path, boundaries)

        threads = self._threads
        fetched = await asyncio.gather(
            self._rows(threads, conversations_pipeline(start, end, days("$created_ms"))),
            self._rows(threads, durations_pipeline("first_human_reply_at", "handoff_at", start, end,
                                                   days("$first_human_reply_at"))),
            self._rows(threads, durations_pipeline("closed_at", "created_ms", start, end,
                                                   days("$closed_at"))),
            self._rows(threads, csat_pipeline(start, end, days("$csat_at"))),
        )
        convs, replies, closes, csat = (_Days(rows, n) for rows in fetched)
        elapsed = (time.perf_counter() - started) * 1000
        metrics: list[Metric] = []

        def count(key: str, label: str, column: str, better: str = "") -> None:
            values = convs.column(column)
            now_, before = _split(values, n)
            metrics.append(Metric(key, label, COUNT, now_, before, tuple(values[n:]), int(now_), better))

        def share(key: str, label: str, part: list[float], whole: list[float], better: str) -> None:
            (p_now, p_before), (w_now, w_before) = _split(part, n), _split(whole, n)
            series = tuple(_ratio(p, w) for p, w in zip(part[n:], whole[n:], strict=True))
            metrics.append(Metric(key, label, SHARE, _ratio(p_now, w_now), _ratio(p_before, w_before),
                                  series, int(w_now), better))

        def median(key: str, label: str, durations: _Days) -> None:
            (now_, count_), (before, _) = durations.period_median(True), durations.period_median(False)
            metrics.append(Metric(key, label, SECONDS, now_, before, tuple(durations.medians()), count_,
                                  "down"))

        conversations = convs.column("conversations")
        up, down = convs.column("thumbs_up"), convs.column("thumbs_down")
        count("conversations", "Conversations", "conversations")
        count("customer_messages", "Customer messages", "asked")
        count("answers", "Assistant answers", "answers")
        count("resolved", "Resolved by the assistant", "resolved", "up")
        share("resolution_rate", "Resolved by the assistant (share of conversations)",
              convs.column("resolved"), conversations, "up")
        share("handoff_rate", "Handoff rate", convs.column("handoffs"), conversations, "down")
        share("decline_rate", "Decline rate", convs.column("declines"), convs.column("answers"), "down")
        share("thumbs_up_share", "Thumbs up", up, [u + d for u, d in zip(up, down, strict=True)], "up")
        totals, ratings = csat.column("total"), csat.column("ratings")
        (t_now, t_before), (r_now, r_before) = _split(totals, n), _split(ratings, n)
        metrics.append(Metric(
            "csat", "CSAT (1 to 5)", SCORE, _ratio(t_now, r_now), _ratio(t_before, r_before),
            tuple(_ratio(t, r) for t, r in zip(totals[n:], ratings[n:], strict=True)), int(r_now), "up"))
        median("first_reply_median", "Median time to first human reply", replies)
        median("close_median", "Median time to close", closes)
        scores = {s: int(sum(csat.column(f"s{s}")[n:])) for s in range(1, 6)}
        return Overview(period, previous, tuple(period.dates()), tuple(metrics), scores, elapsed)

    async def articles(self, actor: User, period: Period) -> ArticlesReport:
        """How often each article was cited in the period, its thumbs-up share, and the
        published articles never cited. Raises NotAllowed."""
        self._team(actor)
        pipeline = articles_pipeline(period.start_ms, period.end_ms)
        rows = [row async for row in self._reporting.aggregate(pipeline)]
        kb = self.knowledge()
        cited: list[ArticleUse] = []
        seen: set[str] = set()
        for row in rows:
            key = str(row["_id"])
            article = kb.article_by_id(key) or kb.article(key)
            if article is not None:
                seen.add(article.id)
                cited.append(ArticleUse(article.id, article.slug, article.title, article.category,
                                        int(row["cited"]), int(row["up"]), int(row["down"])))
            else:
                cited.append(ArticleUse(key, "", "A removed article", "", int(row["cited"]), int(row["up"]),
                                        int(row["down"]), removed=True))
        merged: dict[str, ArticleUse] = {}
        for use in cited:  # an article cited by id and by a legacy slug id is one row
            known = merged.get(use.article_id)
            merged[use.article_id] = use if known is None else ArticleUse(
                use.article_id, use.slug, use.title, use.category, known.cited + use.cited,
                known.thumbs_up + use.thumbs_up, known.thumbs_down + use.thumbs_down, use.removed)
        never = [ArticleUse(a.id, a.slug, a.title, a.category, 0, 0, 0)
                 for a in kb.articles if a.id not in seen]
        return ArticlesReport(period, tuple(sorted(merged.values(), key=lambda a: (-a.cited, a.title))),
                              tuple(sorted(never, key=lambda a: a.title.casefold())))

    # Knowledge gaps --------------------------------------------------------------------------

    async def gaps(self, actor: User, period: Period, *, limit: int = MAX_GAP_QUESTIONS) -> GapsReport:
        """The period's declined questions and thumbs-down answers' questions, grouped into topics
        (gaps.py), each with a suggested article title and draft. Raises NotAllowed."""
        self._team(actor)
        records = [doc async for doc in self._reporting.find(
            {"kind": GAP, "at": {"$gte": period.start_ms, "$lt": period.end_ms}},
            {"question": 1, "declined": 1, "chat_id": 1, "message_id": 1, "reasons": 1, "at": 1},
        ).sort("at", -1).limit(limit + 1)]
        truncated = len(records) > limit
        questions = [GapQuestion(doc["question"], DECLINED if doc.get("declined") else THUMBS_DOWN,
                                 doc.get("chat_id", ""), doc.get("message_id", ""),
                                 tuple(doc.get("reasons") or ()), _time(doc.get("at")))
                     for doc in records[:limit] if doc.get("question")]
        topics = await asyncio.to_thread(group_questions, questions, self.knowledge())
        declined = sum(q.kind == DECLINED for q in questions)
        return GapsReport(period, len(questions), declined, len(questions) - declined, tuple(topics),
                          truncated)

    async def _questions(self, answers: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
        """(owner, client id) -> the customer's question, for these answers (by the unique
        (owner, client_id) index, in batches)."""
        wanted = {(a["owner"], a["client_id"].removesuffix(ANSWER_SUFFIX)) for a in answers}
        found: dict[tuple[str, str], str] = {}
        ordered = sorted(wanted)
        for at in range(0, len(ordered), _IN_BATCH):
            batch = ordered[at:at + _IN_BATCH]
            cursor = self._messages.find(
                {"owner": {"$in": sorted({o for o, _ in batch})}, "client_id": {"$in": [c for _, c in batch]},
                 "role": USER}, {"owner": 1, "client_id": 1, "content": 1})
            async for doc in cursor:
                key = (doc["owner"], doc["client_id"])
                if key in wanted:
                    found[key] = doc.get("content") or ""
        return found

    # Exports ---------------------------------------------------------------------------------

    def _when(self, value: Any, tz: tzinfo) -> str:
        when = _time(value)
        return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if when else ""

    async def conversations_csv(self, actor: User, period: Period) -> Export:
        """One row per conversation started in the period. Raises NotAllowed."""
        self._team(actor)
        zone, tz = period.zone, period.tz
        header = ["conversation", f"started ({zone})", f"last activity ({zone})", f"closed ({zone})",
                  "customer", "email", "guest", "state", "handoff", f"handed off ({zone})",
                  f"first human reply ({zone})", "agent", "closed by", "answers", "declined",
                  "thumbs up", "thumbs down", "csat", "csat comment"]
        cursor = self._threads.find({"created_ms": {"$gte": period.start_ms, "$lt": period.end_ms}}).sort(
            "created_ms", ASCENDING)
        rows = [[doc["_id"], self._when(doc.get("created_ms"), tz), self._when(doc.get("updated_at"), tz),
                 self._when(doc.get("closed_at"), tz), doc.get("customer_name", ""),
                 doc.get("customer_email", ""), "yes" if doc.get("guest") else "no", doc.get("status", ""),
                 "yes" if doc.get("handoff_at") else "no", self._when(doc.get("handoff_at"), tz),
                 self._when(doc.get("first_human_reply_at"), tz), doc.get("assignee_name", ""),
                 doc.get("closed_by", "") if doc.get("closed_at") else "", doc.get("answers") or 0,
                 doc.get("declines") or 0, doc.get("thumbs_up") or 0, doc.get("thumbs_down") or 0,
                 doc.get("csat") or "", doc.get("csat_comment", "")] async for doc in cursor]
        content, count = _csv(header, rows)
        return Export(f"conversations-{period.start}-to-{period.end}.csv", content, count)

    async def feedback_csv(self, actor: User, period: Period) -> Export:
        """One row per rated answer of the period (with its question, sources and model) and one
        per conversation rated in the period (CSAT). Raises NotAllowed."""
        self._team(actor)
        zone, tz, kb = period.zone, period.tz, self.knowledge()
        answers = [doc async for doc in self._messages.find(
            {"created_ms": {"$gte": period.start_ms, "$lt": period.end_ms}, "role": ASSISTANT,
             "feedback": {"$in": [UP, DOWN]}}).sort("created_ms", ASCENDING)]
        rated = [doc async for doc in self._threads.find(
            {"csat_at": {"$gte": period.start_ms, "$lt": period.end_ms}, "csat": {"$gte": 1}}).sort(
            "csat_at", ASCENDING)]
        asked = await self._questions(answers)
        ids = sorted({a["chat_id"] for a in answers})
        customers = {doc["_id"]: doc.get("customer_name", "") async for doc in self._threads.find(
            {"_id": {"$in": ids}}, {"customer_name": 1})} if ids else {}

        def titles(sources: list[str]) -> str:
            found = [kb.article_by_id(key) or kb.article(key) for key in cited_article_ids(sources)]
            return "; ".join(a.title for a in found if a is not None)

        header = ["kind", f"rated ({zone})", "conversation", "customer", "question", "answer", "rating",
                  "reasons", "comment", "articles", "model", f"answered ({zone})"]
        rows = [["answer", self._when(doc.get("feedback_at"), tz), doc["chat_id"],
                 customers.get(doc["chat_id"], ""),
                 asked.get((doc["owner"], doc["client_id"].removesuffix(ANSWER_SUFFIX)), ""),
                 doc.get("content", ""), doc.get("feedback"),
                 "; ".join(REASONS.get(r, r) for r in doc.get("feedback_reasons") or ()),
                 doc.get("feedback_comment", ""), titles(doc.get("sources") or []), doc.get("model", ""),
                 self._when(doc.get("created_ms"), tz)] for doc in answers]
        rows += [["conversation", self._when(doc.get("csat_at"), tz), doc["_id"],
                  doc.get("customer_name", ""), doc.get("title", ""), "", doc.get("csat"), "",
                  doc.get("csat_comment", ""), "", "", ""]
                 for doc in rated]
        content, count = _csv(header, rows)
        return Export(f"feedback-{period.start}-to-{period.end}.csv", content, count)

    # Records from before the insights --------------------------------------------------------

    async def backfill(self, batch: int = 500) -> dict[str, int]:
        """Give conversations and messages stored before the insights what they count:
        created_ms on both, a conversation's tallies, an answer's reporting records.
        Idempotent, and two indexed queries when there is nothing to do: call it at start-up.
        How many {"threads", "messages"} were updated."""
        updated = {"threads": 0, "messages": 0}
        operations: list[UpdateOne] = []
        async for doc in self._messages.find({"created_ms": {"$exists": False}}):
            when = _time(doc.get("created_at"))
            at = _ms(when) if when else 0
            operations.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"created_ms": at}}))
            if doc.get("role") == ASSISTANT and doc.get("status") in COUNTED and doc.get("content"):
                await self._record(doc, at)
            if len(operations) >= batch:
                updated["messages"] += await self._write(self._messages, operations)
        updated["messages"] += await self._write(self._messages, operations)
        older = self._threads.find({"created_ms": {"$exists": False}}, {"created_at": 1, "owner": 1})
        async for doc in older:
            when = _time(doc.get("created_at"))
            mine = {"owner": doc["owner"], "chat_id": doc["_id"]}
            asked = await self._messages.count_documents({**mine, "role": USER})
            answers = [a async for a in self._messages.find(
                {**mine, "role": ASSISTANT, "status": {"$in": list(COUNTED)}, "content": {"$ne": ""}},
                {"declined": 1, "feedback": 1, "created_ms": 1}).sort("created_ms", ASCENDING)]
            fields = {"created_ms": _ms(when) if when else 0, "asked": asked, "answers": len(answers),
                      "declines": sum(bool(a.get("declined")) for a in answers),
                      "last_declined": bool(answers and answers[-1].get("declined")),
                      "thumbs_up": sum(a.get("feedback") == UP for a in answers),
                      "thumbs_down": sum(a.get("feedback") == DOWN for a in answers)}
            operations.append(UpdateOne({"_id": doc["_id"]}, {"$set": fields}))
            if len(operations) >= batch:
                updated["threads"] += await self._write(self._threads, operations)
        updated["threads"] += await self._write(self._threads, operations)
        return updated

    async def _record(self, answer: dict[str, Any], at: int) -> None:
        """An older answer's reporting records, as threads.py and feedback.py write them now."""
        message_id, feedback = str(answer["_id"]), answer.get("feedback")
        records = citation_events(message_id, answer["chat_id"], answer["owner"], at,
                                  answer.get("sources") or [], feedback)
        if answer.get("declined") or feedback == DOWN:
            asked = await self._messages.find_one(
                {"owner": answer["owner"], "client_id": answer["client_id"].removesuffix(ANSWER_SUFFIX)},
                {"content": 1})
            records.append(gap_event(message_id, answer["chat_id"], answer["owner"], at,
                                     (asked or {}).get("content", ""), declined=bool(answer.get("declined")),
                                     feedback=feedback, reasons=answer.get("feedback_reasons") or ()))
        for record in records:
            await self._reporting.replace_one({"_id": record["_id"]}, record, upsert=True)

    @staticmethod
    async def _write(collection: AsyncIOMotorCollection, operations: list[UpdateOne]) -> int:
        if not operations:
            return 0
        result = await collection.bulk_write(list(operations), ordered=False)
        operations.clear()
        return result.modified_count


"""/inbox/insights: the support team's dashboard for a date range named in the address
(`?days=30`, or `?from=2026-11-01&to=2026-11-30`), so a view is shareable and the same every
time it is opened.

The page loads in two steps: `load` (the page's on_load) shows the metrics, per day and
against the previous period; it then asks for `load_details`, the articles and the knowledge
gaps, which take longer (grouping the questions into topics). Everything comes from
`services().insights`, which refuses anyone not on the team; the figures are only formatted here.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import reflex as rx

from chatapp.runtime import services
from chatapp.services.conversations import NotAllowed
from chatapp.services.insights import (
    COUNT,
    PRESETS,
    SCORE,
    SECONDS,
    SHARE,
    ArticlesReport,
    GapsReport,
    InvalidPeriod,
    Metric,
    Overview,
    Period,
)
from chatapp.services.knowledge import DRAFT, InvalidArticle, SlugTaken, UnsafeMarkdown
from chatapp.services.knowledge.articles import DEFAULT_CATEGORY, slugify
from chatapp.services.store import StoreUnavailable
from chatapp.state import args
from chatapp.state.session import holds_user_data, not_for_team, signed_in

ROUTE = "/inbox/insights"
UNAVAILABLE = "The insights can't be reached right now. Please try again in a moment."
MAX_DATE = 10  # "YYYY-MM-DD"
SLUG_LENGTH = 80
# What a rate or a median is computed over, as the tile says it ("of 8 conversations").
BASES = {"resolution_rate": ("conversation", "conversations"),
         "handoff_rate": ("conversation", "conversations"), "decline_rate": ("answer", "answers"),
         "thumbs_up_share": ("rated answer", "rated answers"),
         "csat": ("rating", "ratings"), "first_reply_median": ("first reply", "first replies"),
         "close_median": ("closed conversation", "closed conversations")}
CHART_UNITS = {COUNT: "", SHARE: "%", SCORE: "", SECONDS: " min"}  # in the tooltip, after the value
NO_VALUE = "—"


@dataclasses.dataclass
class Tile:
    """One metric as its tile shows it."""

    key: str = ""
    label: str = ""
    value: str = NO_VALUE
    base: str = ""  # "of 8 conversations"
    arrow: str = ""  # ▲, ▼ or = (the change in words follows it)
    change: str = ""  # "+4 (+100%) on 4 before"
    verdict: str = ""  # "better", "worse", or "" (neither is better, or nothing to compare)
    chart: str = "bar"  # "bar" for counts, "line" for the others
    unit: str = ""  # the chart's unit
    series: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # {"day", "value"}


@dataclasses.dataclass
class ScoreRow:
    score: str = ""
    count: int = 0
    share: str = ""  # "40%"
    width: str = "0%"  # the bar's width


@dataclasses.dataclass
class ArticleRow:
    title: str = ""
    href: str = ""  # its help centre page; "" when removed
    category: str = ""
    cited: int = 0
    thumbs_up: str = ""  # "67% (2 of 3)", or "No ratings"
    removed: bool = False


@dataclasses.dataclass
class TopicRow:
    index: int = 0
    label: str = ""
    count: str = ""  # "2 questions: 2 declined"
    title: str = ""  # the suggested article title
    examples: list[str] = dataclasses.field(default_factory=list)
    draft: str = ""  # the draft's download, relative to the API: /api/insights/gaps/0.md?days=30


def zone() -> tzinfo:
    return ZoneInfo(services().settings.support_timezone)


def range_query(period: Period, days: int) -> str:
    """The address's query for a range: `days=N` for the last N days, else the two dates."""
    if days:
        return urlencode({"days": days})
    return urlencode({"from": period.start.isoformat(), "to": period.end.isoformat()})


def day(when: date) -> str:
    return f"{when:%-d %b %Y}"


def span(period: Period) -> str:
    return day(period.start) if period.days == 1 else f"{day(period.start)} – {day(period.end)}"


def plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def duration(seconds: float) -> str:
    """45 s, 3 min, 1 min 30 s, 1 h 15 min, 2 d 3 h."""
    seconds = round(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 86_400:
        hours, rest = divmod(round(seconds / 60), 60)
        return f"{hours} h" + (f" {rest} min" if rest else "")
    days, rest = divmod(round(seconds / 3600), 24)
    return f"{days} d" + (f" {rest} h" if rest else "")


def shown(unit: str, value: float | None) -> str:
    """A metric's value as the tile shows it."""
    if value is None:
        return NO_VALUE
    if unit == SHARE:
        return f"{value * 100:.1f}%"
    if unit == SCORE:
        return f"{value:.2f}"
    if unit == SECONDS:
        return duration(value)
    return f"{round(value):,}"


def plotted(unit: str, value: float | None) -> float | None:
    """A day's value as the chart plots it (shares in %, durations in minutes)."""
    if value is None:
        return None
    if unit == SHARE:
        return round(value * 100, 1)
    if unit == SECONDS:
        return round(value / 60, 1)
    return round(value, 2)


def change(metric: Metric) -> tuple[str, str, str]:
    """(arrow, the change in words, "better"/"worse"/"") against the previous period."""
    if metric.value is None or metric.previous is None or metric.delta is None:
        return "", "No figure to compare with the previous period", ""
    delta, unit = metric.delta, metric.unit
    before = shown(unit, metric.previous)
    if abs(delta) < 1e-9:
        return "=", f"Same as the previous period ({before})", ""
    sign = "+" if delta > 0 else "−"
    if unit == SHARE:
        amount = f"{sign}{abs(delta) * 100:.1f} pts"
    elif unit == SCORE:
        amount = f"{sign}{abs(delta):.2f}"
    elif unit == SECONDS:
        amount = f"{sign}{duration(delta)}"
    else:
        amount = f"{sign}{round(abs(delta)):,}"
        if metric.change is not None:
            amount += f" ({sign}{abs(metric.change) * 100:.0f}%)"
    verdict = "" if not metric.better else (
        "better" if (delta > 0) == (metric.better == "up") else "worse")
    return ("▲" if delta > 0 else "▼"), f"{amount} on {before} before", verdict


def tile(metric: Metric, days: tuple[date, ...]) -> Tile:
    arrow, moved, verdict = change(metric)
    one, many = BASES.get(metric.key, ("", ""))
    base = f"of {plural(metric.base, one, many)}" if one and metric.unit == SHARE else (
        f"over {plural(metric.base, one, many)}" if one else "")
    return Tile(key=metric.key, label=metric.label, value=shown(metric.unit, metric.value), base=base,
                arrow=arrow, change=moved, verdict=verdict, chart="bar" if metric.unit == COUNT else "line",
                unit=CHART_UNITS[metric.unit],
                series=[{"day": f"{d:%-d %b}", "value": plotted(metric.unit, v)}
                        for d, v in zip(days, metric.series, strict=True)])


def score_rows(scores: dict[int, int]) -> list[ScoreRow]:
    total = sum(scores.values())
    most = max(scores.values(), default=0)
    return [ScoreRow(score=str(s), count=scores.get(s, 0),
                     share=f"{scores.get(s, 0) / total * 100:.0f}%" if total else "",
                     width=f"{scores.get(s, 0) / most * 100:.0f}%" if most else "0%")
            for s in range(5, 0, -1)]


def article_rows(report: ArticlesReport) -> tuple[list[ArticleRow], list[dict[str, str]]]:
    cited = []
    for use in report.cited:
        rated = use.thumbs_up + use.thumbs_down
        share = f"{use.up_share * 100:.0f}% ({use.thumbs_up} of {rated})" if use.up_share is not None \
            else "No ratings"
        cited.append(ArticleRow(title=use.title, href="" if use.removed else f"/help/{use.slug}",
                                category=use.category, cited=use.cited, thumbs_up=share, removed=use.removed))
    never = [{"title": a.title, "href": f"/help/{a.slug}"} for a in report.never_cited]
    return cited, never


def topic_rows(report: GapsReport, query: str) -> list[TopicRow]:
    rows = []
    for index, topic in enumerate(report.topics):
        kinds = [f"{topic.declined} declined"] if topic.declined else []
        if topic.thumbs_down:
            kinds.append(f"{topic.thumbs_down} thumbs down")
        rows.append(TopicRow(index=index, label=topic.label, title=topic.title, examples=list(topic.examples),
                             count=f"{plural(topic.count, 'question', 'questions')}: {', '.join(kinds)}",
                             draft=f"/api/insights/gaps/{index}.md?{query}"))
    return rows


def draft_slug(title: str, attempt: int) -> str:
    slug = slugify(title)[:SLUG_LENGTH].rsplit("-", 1)[0] if len(slugify(title)) > SLUG_LENGTH \
        else slugify(title)
    slug = slug.strip("-") or "knowledge-gap"
    return slug if attempt == 1 else f"{slug}-{attempt}"


@holds_user_data
class InsightsState(rx.State):
    days: int = 0  # the preset shown (7, 30 or 90); 0 for a range of dates
    start: str = ""  # the range's dates, ISO, for the date fields
    end: str = ""
    query: str = ""  # the range as the address and the downloads name it
    range_text: str = ""  # "24 Nov 2026 to 30 Nov 2026", with a dash
    previous_text: str = ""
    zone: str = ""
    error: str = ""
    loaded: bool = False
    tiles: list[Tile] = []
    scores: list[ScoreRow] = []
    ratings: int = 0  # CSAT ratings in the range
    details_loaded: bool = False
    details_error: str = ""
    articles: list[ArticleRow] = []
    never_cited: list[dict[str, str]] = []
    gaps_text: str = ""
    topics: list[TopicRow] = []
    can_write: bool = False  # admins make drafts; agents download them
    _first: str = ""  # the range the details are for
    _last: str = ""
    _drafts: list[list[str]] = []  # [title, body] per topic shown

    @rx.event
    async def load(self):
        user = await signed_in(self)
        if (away := not_for_team(user)) is not None:
            return away
        self._clear()
        self.can_write = services().desk.can_edit(user)
        insights, tz = services().insights, zone()
        self.zone = getattr(tz, "key", str(tz))
        query = self.router.url.query_parameters
        try:
            period = insights.period(query, tz)
        except InvalidPeriod as wrong:
            self.error, self.loaded = str(wrong), True
            return
        dated = "from" in query or "to" in query
        self.days = period.days if not dated and period.days in PRESETS else 0
        self.start, self.end = period.start.isoformat(), period.end.isoformat()
        self.query = range_query(period, 0 if dated else period.days)
        self.range_text, self.previous_text = span(period), span(period.previous())
        try:
            overview = await insights.overview(user, period)
        except NotAllowed:
            return rx.redirect("/chat", replace=True)
        except StoreUnavailable:
            self.error, self.loaded = UNAVAILABLE, True
            return
        self._show(overview)
        self._first, self._last = self.start, self.end
        return InsightsState.load_details

    def _clear(self) -> None:
        self.error = self.details_error = self.gaps_text = ""
        self.loaded = self.details_loaded = False
        self.tiles, self.scores, self.articles, self.never_cited, self.topics = [], [], [], [], []
        self.ratings, self._drafts, self._first, self._last = 0, [], "", ""

    def _show(self, overview: Overview) -> None:
        self.tiles = [tile(m, overview.dates) for m in overview.metrics]
        self.scores = score_rows(overview.csat_scores)
        self.ratings = sum(overview.csat_scores.values())
        self.loaded = True

    @rx.event
    async def load_details(self):
        """The articles and the knowledge gaps of the range the dashboard shows."""
        user = await signed_in(self)
        if user is None or not user.on_team or not self._first:
            return
        period = Period(date.fromisoformat(self._first), date.fromisoformat(self._last), zone())
        insights = services().insights
        try:
            articles, gaps = await asyncio.gather(insights.articles(user, period),
                                                  insights.gaps(user, period))
        except NotAllowed:
            return
        except StoreUnavailable:
            self.details_error = UNAVAILABLE
            return
        if (self._first, self._last) != (period.start.isoformat(), period.end.isoformat()):
            return  # another range was opened meanwhile
        self.articles, self.never_cited = article_rows(articles)
        self.topics = topic_rows(gaps, self.query)
        self._drafts = [[t.title, t.body] for t in gaps.topics]
        found = plural(gaps.questions, "question", "questions")
        self.gaps_text = (f"{found} the help centre did not serve: {gaps.declined} declined by the "
                          f"assistant, {gaps.thumbs_down} answered and rated down.")
        if gaps.truncated:
            self.gaps_text += f" Only the most recent {found} are grouped."
        self.details_error, self.details_loaded = "", True

    @rx.event
    async def choose_dates(self, form_data: Any):
        """The custom range's form: go to the address naming it (the page loads from there)."""
        form = args.picked(form_data, "from", "to")
        start = args.text(form and form["from"], MAX_DATE)
        end = args.text(form and form["to"], MAX_DATE)
        user = await signed_in(self)
        if user is None or not user.on_team or start is None or end is None:
            return
        try:
            period = services().insights.period({"from": start, "to": end}, zone())
        except InvalidPeriod as wrong:
            self.error = str(wrong)
            return
        return rx.redirect(f"{ROUTE}?{range_query(period, 0)}")

    @rx.event
    async def write_article(self, index: Any):
        """An admin's draft article for a knowledge gap's topic, opened in the editor."""
        user = await signed_in(self)
        number = args.number(index, 0, len(self._drafts) - 1) if self._drafts else None
        if user is None or number is None or not services().desk.can_edit(user):
            return
        title, body = self._drafts[number]
        for attempt in range(1, 10):  # a draft of this title may exist already
            try:
                article = await services().desk.create(
                    user, title=title, body=body, category=DEFAULT_CATEGORY, slug=draft_slug(title, attempt),
                    status=DRAFT)
            except SlugTaken:
                continue
            except (InvalidArticle, UnsafeMarkdown) as wrong:
                self.details_error = f"The draft could not be made: {wrong}."
                return
            except NotAllowed:
                return
            except StoreUnavailable:
                self.details_error = UNAVAILABLE
                return
            return rx.redirect(f"/inbox/knowledge/{article.id}")
        self.details_error = "Drafts of this title exist already: open them from the knowledge base."

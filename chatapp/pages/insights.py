"""/inbox/insights: the team's dashboard for a date range (in the address: `?days=30`, or
`?from=2026-11-01&to=2026-11-30`): a tile and a per-day chart for every metric, the CSAT
scores, the articles the assistant cited, the knowledge gaps, and CSV downloads."""

import reflex as rx

from chatapp.components.team_header import team_header
from chatapp.config import get_settings
from chatapp.services.insights import PRESETS
from chatapp.state.insights import ROUTE
from chatapp.state.insights import InsightsState as State

RESOLVED = "at least one answer, no handoff, no thumbs down, and the last answer not a decline"
CHART_HEIGHT = 96
TICKS = {"fontSize": 11, "fill": rx.color("gray", 11)}


def download(label: str, path: rx.Var | str, **props) -> rx.Component:
    """A file from the API (maybe on another origin): a document request, not a page change."""
    return rx.link(label, href=f"{get_settings().api_url}" + path, download="", reload_document=True,
                   size="2", **props)


def date_field(label: str, name: str, value: rx.Var) -> rx.Component:
    return rx.el.label(rx.text(label, size="2"), rx.input(type="date", name=name, default_value=value,
                                                          required=True), class_name="insights-date")


def range_picker() -> rx.Component:
    presets = rx.el.nav(
        *[rx.link(f"Last {n} days", href=f"{ROUTE}?days={n}", class_name="insights-preset",
                  aria_current=rx.cond(State.days == n, "page", "false")) for n in PRESETS],
        aria_label="Date range", class_name="insights-presets",
    )
    custom = rx.form(
        rx.flex(
            date_field("From", "from", State.start),
            date_field("To", "to", State.end),
            rx.button("Show these dates", type="submit", variant="soft"),
            spacing="2", align="end", wrap="wrap",
        ),
        key=State.query, on_submit=State.choose_dates, aria_label="Choose dates",
    )
    return rx.flex(presets, custom, spacing="4", align="end", wrap="wrap", width="100%")


def chart(tile: rx.Var) -> rx.Component:
    axes = (
        rx.recharts.x_axis(data_key="day", tick=TICKS, tick_line=False, interval="preserveStartEnd",
                           min_tick_gap=16, stroke=rx.color("gray", 7)),
        rx.recharts.y_axis(width=40, tick=TICKS, tick_line=False, axis_line=False, tick_count=3),
        rx.recharts.graphing_tooltip(is_animation_active=False),
    )
    common = {"data": tile.series, "height": CHART_HEIGHT, "margin": {"top": 4, "right": 4, "left": 0,
                                                                       "bottom": 0},
              "custom_attrs": {"accessibilityLayer": False}}
    bars = rx.recharts.bar_chart(
        rx.recharts.bar(data_key="value", name=tile.label, fill=rx.color("accent", 9), unit=tile.unit,
                        is_animation_active=False, radius=2),
        *axes, **common)
    line = rx.recharts.line_chart(
        rx.recharts.line(data_key="value", name=tile.label, stroke=rx.color("accent", 9), unit=tile.unit,
                         dot={"r": 2}, stroke_width=2, is_animation_active=False, connect_nulls=False),
        *axes, **common)
    return rx.box(rx.cond(tile.chart == "bar", bars, line), role="img", aria_label=tile.label + " per day",
                  class_name="insights-chart")


def metric_tile(tile: rx.Var) -> rx.Component:
    return rx.el.div(
        rx.text(tile.label, size="2", weight="medium", class_name="insights-label"),
        rx.text(tile.value, class_name="insights-value"),
        rx.cond(tile.base != "", rx.text(tile.base, size="1", color_scheme="gray")),
        rx.text(rx.el.span(tile.arrow, aria_hidden="true"), " ", tile.change,
                rx.cond(tile.verdict != "", " · " + tile.verdict, ""),
                size="1", class_name="insights-change", custom_attrs={"data-verdict": tile.verdict}),
        chart(tile),
        role="group", aria_label=tile.label, class_name="insights-tile",
    )


def dashboard() -> rx.Component:
    return rx.vstack(
        rx.text(rx.el.strong("Resolved by the assistant"), f": {RESOLVED}.", size="2",
                class_name="insights-definition"),
        rx.box(rx.foreach(State.tiles, metric_tile), class_name="insights-tiles", width="100%"),
        rx.el.section(
            rx.heading("CSAT distribution", size="4", as_="h2"),
            rx.text(State.ratings, rx.cond(State.ratings == 1, " rating", " ratings"), " of closed "
                    "conversations, 1 (poor) to 5 (great).", size="2", color_scheme="gray"),
            rx.el.ul(rx.foreach(State.scores, lambda row: rx.el.li(
                rx.text("Score ", row.score, class_name="insights-score"),
                rx.box(rx.box(class_name="insights-bar-fill", width=row.width), class_name="insights-bar",
                       aria_hidden="true"),
                rx.text(row.count, rx.cond(row.share != "", " (" + row.share + ")", ""), size="2"),
                class_name="insights-score-row",
            )), class_name="insights-scores", aria_label="Ratings by score"),
            aria_label="CSAT distribution", class_name="insights-section",
        ),
        width="100%", spacing="4",
    )


def article_row(article: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.cond(
            article.removed,
            rx.flex(rx.text("A removed article"), rx.badge("Removed", color_scheme="red"), spacing="2",
                    align="center", wrap="wrap"),
            rx.link(article.title, href=article.href),
        )),
        rx.table.cell(article.cited),
        rx.table.cell(article.thumbs_up),
    )


def articles() -> rx.Component:
    return rx.el.section(
        rx.heading("Articles", size="4", as_="h2"),
        rx.text("How often the assistant's answers cited each article, and the share of its rated answers "
                "rated up.", size="2", color_scheme="gray"),
        rx.cond(
            State.articles.length() > 0,
            rx.box(rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("Article", "Cited", "Thumbs up")])),
                rx.table.body(rx.foreach(State.articles, article_row)),
                width="100%", size="1",
            ), width="100%", overflow_x="auto"),
            rx.text("No answer of this range cited an article.", size="2"),
        ),
        rx.cond(State.never_cited.length() > 0, rx.el.details(
            rx.el.summary("Never cited (", State.never_cited.length(), " published articles)"),
            rx.el.ul(rx.foreach(State.never_cited, lambda a: rx.el.li(rx.link(a["title"], href=a["href"],
                                                                              size="2"))),
                     class_name="insights-never"),
            class_name="insights-details",
        )),
        aria_label="Articles", class_name="insights-section",
    )


def topic(item: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.flex(rx.heading(item.label, size="3", as_="h3"),
                rx.text(item.count, size="2", color_scheme="gray"),
                spacing="2", align="baseline", wrap="wrap"),
        rx.el.ul(rx.foreach(item.examples, lambda text: rx.el.li(text)), class_name="insights-examples",
                 aria_label="Questions asked"),
        rx.cond(
            State.can_write,
            rx.button("Write an article", size="2", variant="soft", on_click=State.write_article(item.index),
                      aria_label="Write an article: " + item.title),
            download("Download a draft article (Markdown)", item.draft,
                     aria_label="Download a draft article (Markdown): " + item.title),
        ),
        class_name="insights-topic",
    )


def gaps() -> rx.Component:
    return rx.el.section(
        rx.heading("Knowledge gaps", size="4", as_="h2"),
        rx.text(State.gaps_text, size="2", color_scheme="gray"),
        rx.cond(State.topics.length() > 0,
                rx.el.ol(rx.foreach(State.topics, topic), class_name="insights-topics", aria_label="Topics"),
                rx.text("Nothing to write about: every question of this range was answered.", size="2")),
        aria_label="Knowledge gaps", class_name="insights-section",
    )


def details() -> rx.Component:
    return rx.cond(
        State.details_loaded,
        rx.vstack(articles(), gaps(), width="100%", spacing="5"),
        rx.cond(State.details_error != "",
                rx.callout(State.details_error, color_scheme="red", role="alert"),
                rx.flex(rx.spinner(size="2"),
                        rx.text("Loading the articles and the knowledge gaps…", size="2"),
                        spacing="2", align="center", role="status")),
    )


def insights_page() -> rx.Component:
    return rx.vstack(
        team_header("Insights"),
        rx.vstack(
            rx.flex(
                rx.heading("Insights", size="6", as_="h1"),
                rx.spacer(),
                rx.cond(State.query != "", rx.flex(
                    download("Export conversations (CSV)", "/api/insights/conversations.csv?" + State.query),
                    download("Export feedback (CSV)", "/api/insights/feedback.csv?" + State.query),
                    spacing="3", wrap="wrap",
                )),
                width="100%", align="center", wrap="wrap", spacing="2",
            ),
            range_picker(),
            rx.cond(State.range_text != "", rx.text(
                State.range_text, ", against ", State.previous_text, " before. Days in ", State.zone, ".",
                size="2", color_scheme="gray", class_name="insights-range")),
            rx.cond(State.error != "", rx.callout(State.error, color_scheme="red", role="alert")),
            rx.cond(
                State.loaded,
                rx.cond(State.tiles.length() > 0,
                        rx.vstack(dashboard(), details(), width="100%", spacing="5")),
                rx.cond(State.error == "", rx.center(rx.spinner(size="3"), width="100%", padding="3rem",
                                                     role="status", aria_label="Loading the insights")),
            ),
            width="100%", max_width="1200px", margin_x="auto", padding="1rem", spacing="4", as_="main",
        ),
        min_height="100dvh", spacing="0",
    )


PAGE = dict(component=insights_page, route=ROUTE, title="Insights · Helpdesk", on_load=State.load)

"""The "Sources" line under an answer: the help articles it was written from, each a link."""

from __future__ import annotations

import reflex as rx

from chatapp.models import ArticleLink


def source_link(article: rx.Var[ArticleLink]) -> rx.Component:
    return rx.el.li(
        rx.link(rx.icon("file-text", size=12), article["title"], href="/help/" + article["slug"],
                size="1", display="inline-flex", align_items="center", gap="0.25rem"),
    )


def sources(articles: rx.Var[list[ArticleLink]]) -> rx.Component:
    """Nothing for answers that cited nothing (small talk, declines, user messages)."""
    return rx.cond(
        articles.length() > 0,
        rx.flex(
            rx.text("Sources:", size="1", weight="medium", color_scheme="gray"),
            rx.el.ul(
                rx.foreach(articles, source_link),
                style={"display": "flex", "flex_wrap": "wrap", "gap": "0.25rem 0.75rem",
                       "list_style": "none", "margin": 0, "padding": 0},
            ),
            class_name="message-sources", role="group", aria_label="Sources",
            wrap="wrap", align="baseline", spacing="2",
            margin_top="0.5rem", padding_top="0.5rem", border_top="1px solid var(--gray-a4)",
        ),
    )

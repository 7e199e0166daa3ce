"""The public help centre: the article index, search results and the open article.

Readable without logging in, so nothing here looks at the session. The knowledge base is
asked for on every page load, so a saved edit shows on the next one, on every worker.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx

from chatapp.models import ArticleLink
from chatapp.runtime import services
from chatapp.services.knowledge import Article
from chatapp.state import args

MAX_QUERY_CHARS = 200  # a search box, not a document: longer text only slows ranking down


class Category(TypedDict):
    name: str
    articles: list[ArticleLink]


def _link(article: Article) -> ArticleLink:
    return {"slug": article.slug, "title": article.title}


def _query(text: str) -> str:
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def _readable_date(text: str) -> str:
    """'2026-09-14' as '14 September 2026'; anything else an operator wrote, unchanged."""
    try:
        return f"{date.fromisoformat(text):%-d %B %Y}"
    except ValueError:
        return text


class HelpState(rx.State):
    categories: list[Category] = []
    query: str = ""
    results: list[ArticleLink] = []
    title: str = ""
    category: str = ""
    updated: str = ""
    body: str = ""
    not_found: bool = False

    @rx.event
    def load_index(self):
        """All articles by category, and the ranked matches for `?q=` so searches can be shared."""
        kb = services().knowledge.current()
        categories: dict[str, list[ArticleLink]] = {}
        for article in kb.articles:  # already sorted by category, then title
            categories.setdefault(article.category, []).append(_link(article))
        self.categories = [{"name": name, "articles": links} for name, links in categories.items()]
        self.query = _query(self.router.url.query_parameters.get("q", ""))
        self.results = [_link(a) for a in kb.search_articles(self.query)] if self.query else []

    @rx.event
    def search(self, form_data: Any):
        """Search by navigating to `/help?q=...`: the address is shareable and Back works."""
        form = args.fields(form_data, "q")
        query = _query(args.text(form and form["q"], 10 * MAX_QUERY_CHARS) or "")
        return rx.redirect(f"/help?{urlencode({'q': query})}" if query else "/help")

    @rx.event
    def load_article(self):
        parts = [part for part in self.router.url.path.split("/") if part]
        slug = parts[1] if len(parts) == 2 and parts[0] == "help" else ""
        article = services().knowledge.current().article(slug)
        self.not_found = article is None
        if article is None:
            self.title = self.category = self.updated = self.body = ""
            return
        if article.slug != slug:  # an earlier address: links and bookmarks keep working
            return rx.redirect(f"/help/{article.slug}", replace=True)
        self.title, self.category, self.body = article.title, article.category, article.body
        self.updated = _readable_date(article.updated)

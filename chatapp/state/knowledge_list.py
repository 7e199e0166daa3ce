"""/inbox/knowledge: the team's list of help articles, with search, filters, the deleted ones
(restorable for 30 days), import (files become drafts) and export (a zip, from a route)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chatapp.runtime import services
from chatapp.services.conversations import NotAllowed
from chatapp.services.knowledge import DRAFT, PUBLISHED, RESTORE_DAYS, Article, ArticleNotFound
from chatapp.services.knowledge.desk import MAX_IMPORT_BYTES
from chatapp.services.store import StoreUnavailable
from chatapp.state import args
from chatapp.state.notices import notify
from chatapp.state.session import holds_user_data, not_for_team, signed_in

ALL = "all"
VIEWS = (ALL, PUBLISHED, DRAFT, "deleted")
MAX_QUERY = 200
UNAVAILABLE = "The articles can't be reached right now. Please try again in a moment."


def when(article: Article, deleted: bool = False) -> str:
    moment = article.deleted_at if deleted else article.updated_at
    return f"{moment:%-d %b %Y, %H:%M}" if moment else ""


def row(article: Article, deleted: bool = False) -> dict[str, str]:
    return {"id": article.id, "title": article.title, "category": article.category,
            "status": "deleted" if deleted else article.status,
            "editor": article.updated_by.name if article.updated_by else "",
            "when": when(article, deleted), "slug": article.slug}


@holds_user_data
class KnowledgeListState(rx.State):
    articles: list[dict[str, str]] = []
    categories: list[str] = []
    query: str = ""
    category: str = ALL
    view: str = ALL
    can_edit: bool = False
    loaded: bool = False
    error: str = ""
    imported: list[dict[str, str]] = []  # {"id", "title"} of the drafts the last import made
    import_problems: list[str] = []  # a file that could not be used, or what was changed in one

    @rx.event
    async def load(self):
        user = await signed_in(self)
        if (away := not_for_team(user)) is not None:
            return away
        self.can_edit = services().desk.can_edit(user)
        self.imported, self.import_problems = [], []
        await self._refresh()

    async def _refresh(self) -> None:
        user, desk = await signed_in(self), services().desk
        deleted = self.view == "deleted"
        status = self.view if self.view in (PUBLISHED, DRAFT) else None
        try:
            found = await desk.list(user, self.query, None if self.category == ALL else self.category,
                                    status, deleted)
            self.categories = await desk.categories(user)
        except NotAllowed as refused:
            self.error, self.articles = str(refused), []
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        self.error, self.loaded = "", True
        self.articles = [row(a, deleted) for a in found]

    @rx.event
    async def search(self, form_data: Any):
        form = args.fields(form_data, "q")
        query = args.text(form and form["q"], 10 * MAX_QUERY)
        if query is None:
            return
        self.query = " ".join(query.split())[:MAX_QUERY]
        await self._refresh()

    @rx.event
    async def show_category(self, value: Any):
        if isinstance(value, str) and (value == ALL or value in self.categories):
            self.category = value
            await self._refresh()

    @rx.event
    async def show_view(self, value: Any):
        if value in VIEWS:
            self.view = value
            await self._refresh()

    @rx.event
    async def restore(self, article_id: Any):
        """Bring a deleted article back (within RESTORE_DAYS days), as it was."""
        article_id = args.article_id(article_id)
        if article_id is None:
            return
        try:
            article = await services().desk.restore(await signed_in(self), article_id)
        except NotAllowed as refused:
            self.error = str(refused)
            return
        except ArticleNotFound:
            self.error = f"That article was deleted over {RESTORE_DAYS} days ago and is gone."
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        await self._refresh()
        return notify(f"“{article.title}” is back, as it was when it was deleted.", "success")

    @rx.event
    async def import_files(self, files: list[rx.UploadFile]):
        """Markdown, HTML, text or zip files: each becomes a draft to review."""
        user = await signed_in(self)
        if not services().desk.can_edit(user):
            self.error = "Only admins can import articles."
            return
        if not isinstance(files, list) or not all(isinstance(f, rx.UploadFile) for f in files):
            return
        uploads = [(str(f.name or "file"), await f.read(MAX_IMPORT_BYTES + 1)) for f in files[:100]]
        try:
            report = await services().desk.import_files(user, uploads)
        except (NotAllowed, ValueError) as refused:
            self.error = str(refused)
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        self.error = ""
        self.imported = [{"id": a.id, "title": a.title} for a in report.created]
        self.import_problems = ([f"{name}: not imported ({why})" for name, why in report.failed]
                                + [f"{name}: {note}" for name, note in report.notes])
        self.view = DRAFT
        await self._refresh()

"""/inbox/knowledge/<id> and /inbox/knowledge/new: one article's editor (admins) or reader
(agents), with the live preview, its version history, a diff of any two versions, and delete.

The fields are uncontrolled: Save sends what the form holds, so nothing typed is lost to a
debounce; the body also feeds the preview, debounced. A save names the version it started
from, so two admins never overwrite each other unseen: the later one is told and keeps its text.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chatapp.runtime import services
from chatapp.services.conversations import NotAllowed
from chatapp.services.knowledge import (
    DRAFT,
    PUBLISHED,
    RESTORE_DAYS,
    Article,
    ArticleNotFound,
    EditConflict,
    InvalidArticle,
    SlugTaken,
    UnsafeMarkdown,
)
from chatapp.services.knowledge.articles import DEFAULT_CATEGORY
from chatapp.services.store import StoreUnavailable
from chatapp.state import args
from chatapp.state.knowledge_list import UNAVAILABLE, when
from chatapp.state.notices import notify
from chatapp.state.session import holds_user_data, not_for_team, signed_in

FIELDS = ("title", "category", "slug", "status", "body")
LIMITS = {"title": 400, "category": 200, "slug": 200, "status": 20, "body": 200_000}
NEW = "new"


def _diff_lines(diff: str) -> list[dict[str, str]]:
    """A unified diff as rows the page colours: added, removed, a hunk header, or context."""
    kinds = {"+": "added", "-": "removed", "@": "hunk"}
    return [{"kind": kinds.get(line[:1], "same"), "text": line}
            for line in diff.splitlines() if not line.startswith(("+++", "---"))]


@holds_user_data
class ArticleEditorState(rx.State):
    article_id: str = ""  # "" while writing a new one
    version: int = 0
    title: str = ""
    category: str = ""
    slug: str = ""
    status: str = DRAFT
    body: str = ""
    old_slugs: str = ""
    updated: str = ""
    preview: str = ""
    can_edit: bool = False
    not_found: bool = False
    loaded: bool = False
    error: str = ""
    conflict: bool = False
    saved: str = ""
    history_open: bool = False
    versions: list[dict[str, str]] = []
    diff: list[dict[str, str]] = []
    diff_from: str = ""
    diff_to: str = ""
    _created: str = ""  # the article this tab just created, until its page has loaded

    @rx.var
    def form_key(self) -> str:
        """Changes when the form must show stored values again (another article, a restore)."""
        return f"{self.article_id or NEW}:{self.version}"

    @rx.var
    def help_link(self) -> str:
        return f"/help/{self.slug}" if self.article_id and self.status == PUBLISHED else ""

    def _show(self, article: Article) -> None:
        self.article_id, self.version = article.id, article.version
        self.title, self.category, self.slug = article.title, article.category, article.slug
        self.status, self.body, self.preview = article.status, article.body, article.body
        self.old_slugs = ", ".join(article.old_slugs)
        editor = article.updated_by.name if article.updated_by else "someone"
        self.updated = f"Version {article.version}, saved by {editor} on {when(article)}"
        self.conflict, self.not_found = False, False

    @rx.event
    async def load(self):
        user = await signed_in(self)
        if (away := not_for_team(user)) is not None:
            return away
        self.can_edit = services().desk.can_edit(user)
        parts = [part for part in self.router.url.path.split("/") if part]
        target = parts[2] if len(parts) == 3 else ""
        if target != self._created:  # a new article's "Saved" note survives its move to its address
            self.saved = ""
        self.error, self._created = "", ""
        self.history_open, self.versions, self.diff = False, [], []
        if target == NEW:
            self.article_id, self.version, self.not_found, self.conflict = "", 0, False, False
            self.title = self.slug = self.body = self.preview = self.old_slugs = self.updated = ""
            self.category, self.status = DEFAULT_CATEGORY, DRAFT
            self.loaded = True
            return
        await self._load(args.article_id(target))

    async def _load(self, article_id: str | None) -> None:
        try:
            article = await services().desk.get(await signed_in(self), article_id or "")
        except (ArticleNotFound, NotAllowed):
            self.not_found, self.article_id, self.loaded = True, "", True
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        self._show(article)
        self.loaded = True

    @rx.event
    def show_preview(self, text: Any):
        if isinstance(text, str):
            self.preview = text[:LIMITS["body"]]

    @rx.event
    async def save(self, form_data: Any):
        form = args.picked(form_data, *FIELDS)
        if form is None:
            return
        values = {name: args.text(form[name], LIMITS[name]) for name in FIELDS}
        if None in values.values():
            self.error = "Not saved: the article is too long (at most 200,000 characters)."
            return
        user, desk = await signed_in(self), services().desk
        new = not self.article_id
        try:
            if new:
                article = await desk.create(user, **values)
            else:
                article = await desk.save(user, self.article_id, self.version, **values)
        except NotAllowed as refused:
            self.error = str(refused)
            return
        except EditConflict:
            self.error, self.conflict = ("Someone saved this article while you were editing it. Your text "
                                         "is still here: copy what you need, then load their version."), True
            return
        except (InvalidArticle, SlugTaken, UnsafeMarkdown) as invalid:
            self.error = f"Not saved: {_sentence(invalid)}"
            return
        except ArticleNotFound:
            self.error = "Not saved: this article was deleted meanwhile."
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        self._show(article)
        self.error = ""
        live = "live in the help centre and the assistant's answers now" if article.status == PUBLISHED \
            else "a draft: customers don't see it"
        self.saved = f"Saved as version {article.version}: {live}."
        if self.history_open:
            await self._versions()
        if new:
            self._created = article.id
            return rx.redirect(f"/inbox/knowledge/{article.id}", replace=True)

    @rx.event
    async def load_theirs(self):
        """After a conflict: show the version someone else saved (the form is filled again)."""
        await self._load(self.article_id)
        self.error = ""

    @rx.event
    async def toggle_history(self):
        self.history_open = not self.history_open
        if self.history_open:
            await self._versions()

    async def _versions(self) -> None:
        try:
            found = await services().desk.versions(await signed_in(self), self.article_id)
        except (ArticleNotFound, NotAllowed):
            self.versions = []
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        self.versions = [{"number": str(v.number), "editor": v.saved_by.name, "note": v.note,
                          "when": f"{v.saved_at:%-d %b %Y, %H:%M}", "title": v.article.title}
                         for v in found]
        if len(found) >= 2:
            await self._compare(found[1].number, found[0].number)
        else:
            self.diff, self.diff_from, self.diff_to = [], "", ""

    async def _compare(self, old: int, new: int) -> None:
        try:
            text = await services().desk.diff(await signed_in(self), self.article_id, old, new)
        except (ArticleNotFound, NotAllowed):
            self.diff = []
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        self.diff_from, self.diff_to = str(old), str(new)
        self.diff = _diff_lines(text) or [{"kind": "same", "text": "These two versions are the same."}]

    @rx.event
    async def compare(self, form_data: Any):
        form = args.fields(form_data, "from", "to")
        old, new = args.number(form and form["from"], 1), args.number(form and form["to"], 1)
        if old is not None and new is not None:
            await self._compare(old, new)

    @rx.event
    async def restore_version(self, number: Any):
        number = args.number(number, 1)
        if number is None or not self.article_id:
            return
        try:
            article = await services().desk.restore_version(await signed_in(self), self.article_id, number,
                                                            self.version)
        except NotAllowed as refused:
            self.error = str(refused)
            return
        except EditConflict:
            self.error = "Someone saved this article meanwhile; load their version first."
            self.conflict = True
            return
        except (ArticleNotFound, InvalidArticle, SlugTaken, UnsafeMarkdown) as invalid:
            self.error = f"Not restored: {_sentence(invalid)}"
            return
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        self._show(article)
        self.error, self.saved = "", f"Restored version {number}, saved as version {article.version}."
        await self._versions()

    @rx.event
    async def delete(self):
        try:
            article = await services().desk.delete(await signed_in(self), self.article_id)
        except NotAllowed as refused:
            self.error = str(refused)
            return
        except ArticleNotFound:
            return rx.redirect("/inbox/knowledge", replace=True)
        except StoreUnavailable:
            self.error = UNAVAILABLE
            return
        return [rx.redirect("/inbox/knowledge", replace=True),
                notify(f"“{article.title}” was deleted. Restore it under “Deleted” "
                       f"within {RESTORE_DAYS} days.", "success")]


def _sentence(error: Exception) -> str:
    if isinstance(error, SlugTaken):
        return "another article already uses that address (slug)."
    if isinstance(error, ArticleNotFound):
        return "this article or version no longer exists."
    text = str(error).rstrip(".")
    return f"{text}."

"""The editable knowledge base: MongoDB holds the articles, every worker searches its own index.

`KnowledgeService` is the one object the app wires: `start()` seeds an empty database from the
knowledge/ folder and loads; `current()` is the published knowledge base customers search;
the editing methods write to MongoDB, update this worker's index off the event loop, and tell
the other workers (through Redis, when there is one) to reload the article that changed.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import DuplicateKeyError
from redis.asyncio import Redis

from chatapp.services.knowledge import files, safety
from chatapp.services.knowledge.articles import (
    DEFAULT_CATEGORY,
    DRAFT,
    STATUSES,
    Article,
    Editor,
    is_slug,
    new_id,
    read_folder,
    render_article,
    slugify,
)
from chatapp.services.knowledge.files import ImportReport
from chatapp.services.knowledge.index import KnowledgeBase
from chatapp.services.knowledge.store import ArticleNotFound, ArticleStore, SlugTaken, Version
from chatapp.services.knowledge.sync import RedisSync

log = logging.getLogger(__name__)

RESTORE_DAYS = 30
MAX_TITLE = 200
SEED_EDITOR = Editor("system", "Knowledge folder")


class InvalidArticle(ValueError):
    """A field is missing or malformed; the message says which and how to fix it."""


def _now() -> datetime:
    return datetime.now(UTC)


def _validated(article: Article) -> Article:
    """The article with its fields trimmed; raises InvalidArticle or safety.UnsafeMarkdown."""
    article = replace(article, title=" ".join(article.title.split()), category=article.category.strip(),
                      slug=article.slug.strip(), body=article.body.strip())
    if not article.title or len(article.title) > MAX_TITLE:
        raise InvalidArticle(f"the title must be 1 to {MAX_TITLE} characters")
    if not is_slug(article.slug):
        raise InvalidArticle("the address (slug) must be lowercase letters and digits joined by hyphens")
    if not article.category:
        raise InvalidArticle("the category must not be empty")
    if article.status not in STATUSES:
        raise InvalidArticle(f"the status must be one of {', '.join(STATUSES)}")
    safety.check(article.body)
    return article


class KnowledgeService:
    def __init__(
        self, db: AsyncIOMotorDatabase, redis: Redis | None = None, seed_dir: str | Path | None = None
    ) -> None:
        self._store = ArticleStore(db)
        self._seed_dir = Path(seed_dir) if seed_dir else None
        self._kb = KnowledgeBase()
        self._unlisted: dict[str, tuple[str, str]] = {}
        self._lock = asyncio.Lock()  # one index update at a time; searches never wait for it
        self._sync = RedisSync(redis, self._reload_article, self.reload) if redis is not None else None

    # Life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Indexes, seed if the database has no articles, purge old deletions, listen, load."""
        await self._store.ensure_indexes()
        if self._seed_dir and await self._store.is_empty():
            await self._seed(self._seed_dir)
        await self.purge_deleted()
        if self._sync:
            await self._sync.start()
        await self.reload()

    async def close(self) -> None:
        if self._sync:
            await self._sync.close()

    def serve_folder(self) -> None:
        """While the database cannot be read: the seed folder's published articles, so the help
        centre and the assistant keep answering (blocking: call it in a thread)."""
        if self._seed_dir:
            self._kb = KnowledgeBase.load(self._seed_dir)

    def current(self) -> KnowledgeBase:
        """The published knowledge base (sync: the help centre, the chat and the assistant)."""
        return self._kb

    def unlisted_articles(self) -> Mapping[str, tuple[str, str]]:
        """Deleted or draft articles, id -> (slug, title): pass to `citations` to name them."""
        return self._unlisted

    async def reload(self) -> None:
        """Rebuild the index from MongoDB (at start, and when a change notice was missed)."""
        async with self._lock:
            articles = await self._store.all_live()
            unlisted = await self._store.removed()
            unlisted.update({a.id: (a.slug, a.title) for a in articles if a.status == DRAFT})
            self._kb = await asyncio.to_thread(KnowledgeBase, articles)
            self._unlisted = unlisted

    async def _reload_article(self, article_id: str) -> None:
        """Bring this worker's index in line with the article as stored now."""
        async with self._lock:
            try:
                article = await self._store.get(article_id, include_deleted=True)
            except ArticleNotFound:  # purged
                article = None
            unlisted = dict(self._unlisted)
            if article is None or article.deleted_at is not None:
                self._kb = await asyncio.to_thread(self._kb.without_article, article_id)
            else:
                self._kb = await asyncio.to_thread(self._kb.with_article, article)
            if article is not None and (article.deleted_at is not None or article.status == DRAFT):
                unlisted[article_id] = (article.slug, article.title)
            else:
                unlisted.pop(article_id, None)
            self._unlisted = unlisted

    async def _changed(self, article_id: str) -> None:
        log.info("knowledge article changed", extra={"article_id": article_id})
        await self._reload_article(article_id)
        if self._sync:
            await self._sync.publish(article_id)

    async def _seed(self, directory: Path) -> None:
        seeded = 0
        for article in read_folder(directory):
            stamped = replace(article, updated_at=article.updated_at or _now(), updated_by=SEED_EDITOR)
            try:
                await self._store.insert(stamped, f"seeded from {directory.name}/{article.slug}.md")
                seeded += 1
            except (DuplicateKeyError, SlugTaken):  # another worker is seeding the same files
                continue
        log.info("Seeded %d knowledge articles from %s", seeded, directory)

    # Reading (agents: drafts included) -------------------------------------------------------

    async def get(self, article_id: str) -> Article:
        """Raises ArticleNotFound (also for a deleted article)."""
        return await self._store.get(article_id)

    async def get_by_slug(self, slug: str) -> Article:
        """By current or earlier slug; raises ArticleNotFound."""
        owner = await self._store.slug_owner(slug)
        if owner is None:
            raise ArticleNotFound(slug)
        return await self._store.get(owner)

    async def list(
        self, text: str = "", category: str | None = None, status: str | None = None,
        deleted: bool = False, limit: int = 200,
    ) -> list[Article]:
        """Editors' list by title; `deleted=True` lists the restorable ones instead."""
        return await self._store.find(text, category, status, deleted, limit)

    # Editing ---------------------------------------------------------------------------------

    async def create(
        self, editor: Editor, title: str, body: str, category: str = DEFAULT_CATEGORY,
        slug: str | None = None, status: str = DRAFT, note: str = "created",
    ) -> Article:
        """A new article (a draft unless told). Raises InvalidArticle, UnsafeMarkdown, SlugTaken."""
        article = _validated(Article(new_id(), slug or slugify(title), title, category, body, status,
                                     updated_at=_now(), updated_by=editor))
        saved = await self._store.insert(article, note)
        await self._changed(saved.id)
        return saved

    async def save(
        self, editor: Editor, article_id: str, expected_version: int, *, title: str | None = None,
        body: str | None = None, category: str | None = None, slug: str | None = None,
        status: str | None = None, note: str = "edited",
    ) -> Article:
        """Change the given fields of the version the editor started from. Raises
        ArticleNotFound, EditConflict, InvalidArticle, UnsafeMarkdown, SlugTaken."""
        current = await self._store.get(article_id)
        changes = {"title": title, "body": body, "category": category, "slug": slug, "status": status}
        article = _validated(replace(current, **{k: v for k, v in changes.items() if v is not None},
                                     updated_at=_now(), updated_by=editor))
        saved = await self._store.update(article, expected_version, note)
        await self._changed(article_id)
        return saved

    async def delete(self, editor: Editor, article_id: str) -> Article:
        """Soft delete: out of search and the help centre, restorable for RESTORE_DAYS days."""
        await self._store.get(article_id)
        deleted = await self._store.set_deleted(article_id, _now())
        log.info("Knowledge article %s deleted by %s", article_id, editor.id)
        await self._changed(article_id)
        return deleted

    async def restore(self, editor: Editor, article_id: str) -> Article:
        """Undo a delete within RESTORE_DAYS days; raises ArticleNotFound after that."""
        article = await self._store.get(article_id, include_deleted=True)
        if article.deleted_at is None:
            return article
        if article.deleted_at < _now() - timedelta(days=RESTORE_DAYS):
            raise ArticleNotFound(article_id)
        restored = await self._store.set_deleted(article_id, None)
        log.info("Knowledge article %s restored by %s", article_id, editor.id)
        await self._changed(article_id)
        return restored

    async def purge_deleted(self) -> int:
        """Remove for good what was deleted over RESTORE_DAYS days ago (run at start)."""
        purged = await self._store.purge(_now() - timedelta(days=RESTORE_DAYS))
        for article_id in purged:
            await self._changed(article_id)
        return len(purged)

    # History ---------------------------------------------------------------------------------

    async def versions(self, article_id: str) -> list[Version]:
        """Every save, newest first (also of a deleted article)."""
        await self._store.get(article_id, include_deleted=True)
        return await self._store.versions(article_id)

    async def diff(self, article_id: str, old: int, new: int) -> str:
        """A unified diff of two versions in the knowledge/ format (fields, then body)."""
        before, after = await self._store.version(article_id, old), await self._store.version(article_id, new)
        lines = [render_article(replace(v.article, updated_at=None)).splitlines() for v in (before, after)]
        return "\n".join(difflib.unified_diff(*lines, f"version {old}", f"version {new}", lineterm=""))

    async def restore_version(
        self, editor: Editor, article_id: str, number: int, expected_version: int
    ) -> Article:
        """Save the title, category, slug and body of version `number` again, as a new version
        (the status stays, so restoring never unpublishes by surprise)."""
        old = (await self._store.version(article_id, number)).article
        return await self.save(editor, article_id, expected_version, title=old.title, body=old.body,
                               category=old.category, slug=old.slug, note=f"restored version {number}")

    # Files -----------------------------------------------------------------------------------

    async def import_files(self, editor: Editor, uploads: Sequence[tuple[str, bytes]]) -> ImportReport:
        """Each Markdown, HTML or text file (or each inside a .zip) becomes a draft; a taken
        slug gets a number (-2, -3, ...). A file that can't be used is listed, not fatal."""
        report = ImportReport()
        for name, data in files.expand(uploads):
            try:
                draft = files.convert(name, data)
                slug = await self._free_slug(draft.slug)
                article = await self.create(editor, draft.title, draft.body, draft.category, slug,
                                            note=f"imported from {name}")
            except (ValueError, SlugTaken) as error:
                report.failed.append((name, str(error)))
                continue
            report.created.append(article)
            report.notes += [(name, note) for note in draft.notes]
            if slug != draft.slug:
                report.notes.append((name, f"address {draft.slug!r} is taken: saved as {slug!r}"))
        return report

    async def _free_slug(self, slug: str) -> str:
        candidate, n = slug, 1
        while await self._store.slug_owner(candidate) is not None:
            n += 1
            candidate = f"{slug}-{n}"
        return candidate

    async def export_zip(self) -> bytes:
        """Every article that is not deleted, drafts included, as knowledge/ files in a zip."""
        return files.export_zip(sorted(await self._store.all_live(), key=lambda a: a.slug))

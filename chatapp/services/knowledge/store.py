"""Articles in MongoDB: the current article, every saved version, and the slugs that resolve.

Three collections: `kb_articles` (one document per article, the truth after seeding),
`kb_versions` (one per save, `<article id>:<n>`) and `kb_slugs` (one per slug ever used, with
the slug as `_id`, so the database itself refuses a slug that is taken, now or earlier).
References are strings and a live article has no `deleted_at` field at all: both keep every
query inside what MongoDB, Atlas and the embedded nx-27017 all answer the same way. Changes
replace the whole document (conditioned on its version) instead of using `$set`, because
nx-27017 stores a datetime given to `$set` as a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from chatapp.services.knowledge.articles import PUBLISHED, Article, Editor


class ArticleNotFound(LookupError):
    """No such article (or version), or it was deleted more than the restore window ago."""


class SlugTaken(ValueError):
    """Another article uses, or once used, this slug: its old links must keep working."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"the address {slug!r} is already used by another article; choose another")
        self.slug = slug


class EditConflict(RuntimeError):
    """Someone saved the article after the version this edit started from."""

    def __init__(self, article_id: str, expected: int, current: int) -> None:
        super().__init__(
            f"this article was saved by someone else (version {current}, you edited version {expected}); "
            "reload it and apply your changes again"
        )
        self.article_id, self.expected, self.current = article_id, expected, current


@dataclass(frozen=True)
class Version:
    article_id: str
    number: int
    article: Article  # the article as that save left it
    saved_at: datetime
    saved_by: Editor
    note: str  # "created", "edited", "restored version 2", "imported from a.html", ...


def _editor(doc: dict[str, Any] | None) -> Editor | None:
    return Editor(str(doc.get("id", "")), str(doc.get("name", ""))) if doc else None


def _article(doc: dict[str, Any]) -> Article:
    return Article(
        id=doc["_id"] if "article_id" not in doc else doc["article_id"],
        slug=doc["slug"],
        title=doc["title"],
        category=doc["category"],
        body=doc["body"],
        status=doc["status"],
        updated_at=doc.get("updated_at") or doc.get("saved_at"),
        updated_by=_editor(doc.get("updated_by") or doc.get("saved_by")),
        old_slugs=tuple(doc.get("old_slugs", ())),
        version=int(doc.get("version", 0)),
        deleted_at=doc.get("deleted_at"),
    )


def _fields(article: Article) -> dict[str, Any]:
    return {
        "slug": article.slug,
        "title": article.title,
        "category": article.category,
        "body": article.body,
        "status": article.status,
    }


class ArticleStore:
    def __init__(self, db: AsyncIOMotorDatabase) -> None:
        self._articles = db["kb_articles"]
        self._versions = db["kb_versions"]
        self._slugs = db["kb_slugs"]

    async def ensure_indexes(self) -> None:
        await self._articles.create_index([("status", ASCENDING), ("category", ASCENDING)], name="status")
        await self._versions.create_index([("article_id", ASCENDING), ("version", DESCENDING)], name="saves")
        await self._slugs.create_index("article_id", name="article")

    async def is_empty(self) -> bool:
        return await self._articles.count_documents({}, limit=1) == 0

    # Slugs -----------------------------------------------------------------------------------

    async def claim_slug(self, slug: str, article_id: str) -> None:
        """Reserve `slug` for the article; raises SlugTaken if another article has it."""
        try:
            await self._slugs.insert_one({"_id": slug, "article_id": article_id})
        except DuplicateKeyError:
            owner = await self._slugs.find_one({"_id": slug})
            if not owner or owner["article_id"] != article_id:
                raise SlugTaken(slug) from None

    async def slug_owner(self, slug: str) -> str | None:
        doc = await self._slugs.find_one({"_id": slug})
        return doc["article_id"] if doc else None

    # Articles --------------------------------------------------------------------------------

    async def insert(self, article: Article, note: str) -> Article:
        """A new article at version 1. Raises SlugTaken, or DuplicateKeyError if the id exists."""
        await self.claim_slug(article.slug, article.id)
        doc = {"_id": article.id, **_fields(article), "old_slugs": [], "version": 1,
               "updated_at": article.updated_at, "updated_by": _editor_doc(article.updated_by)}
        await self._articles.insert_one(doc)
        await self._add_version(_article(doc), note)
        return _article(doc)

    async def update(self, article: Article, expected_version: int, note: str) -> Article:
        """Save `article` over `expected_version`; raises EditConflict if that is not current."""
        doc = await self._articles.find_one({"_id": article.id, "deleted_at": {"$exists": False}})
        if doc is None:
            raise ArticleNotFound(article.id)
        if doc["version"] != expected_version:
            raise EditConflict(article.id, expected_version, doc["version"])
        old_slugs = list(doc.get("old_slugs", ()))
        if article.slug != doc["slug"]:
            await self.claim_slug(article.slug, article.id)
            old_slugs = [s for s in [*old_slugs, doc["slug"]] if s != article.slug]
        new = {**doc, **_fields(article), "old_slugs": old_slugs, "version": expected_version + 1,
               "updated_at": article.updated_at, "updated_by": _editor_doc(article.updated_by)}
        await self._replace(new, expected_version)
        saved = _article(new)
        await self._add_version(saved, note)
        return saved

    async def _replace(self, doc: dict[str, Any], expected_version: int) -> None:
        result = await self._articles.replace_one({"_id": doc["_id"], "version": expected_version}, doc)
        if result.matched_count != 1:
            latest = await self._articles.find_one({"_id": doc["_id"]}, {"version": 1})
            raise EditConflict(doc["_id"], expected_version, int(latest["version"]) if latest else -1)

    async def get(self, article_id: str, include_deleted: bool = False) -> Article:
        query: dict[str, Any] = {"_id": article_id}
        if not include_deleted:
            query["deleted_at"] = {"$exists": False}
        doc = await self._articles.find_one(query)
        if doc is None:
            raise ArticleNotFound(article_id)
        return _article(doc)

    async def find(
        self,
        text: str = "",
        category: str | None = None,
        status: str | None = None,
        deleted: bool = False,
        limit: int = 200,
    ) -> list[Article]:
        """Articles for the editors' list, by title: `text` matches title or slug, any case."""
        query: dict[str, Any] = {"deleted_at": {"$exists": deleted}}
        if category:
            query["category"] = category
        if status:
            query["status"] = status
        if text.strip():
            pattern = {"$regex": re.escape(text.strip()), "$options": "i"}
            query["$or"] = [{"title": pattern}, {"slug": pattern}]
        cursor = self._articles.find(query).sort([("title", ASCENDING)]).limit(limit)
        return [_article(doc) async for doc in cursor]

    async def published(self) -> list[Article]:
        cursor = self._articles.find({"status": PUBLISHED, "deleted_at": {"$exists": False}})
        return [_article(doc) async for doc in cursor]

    async def all_live(self) -> list[Article]:
        return [_article(doc) async for doc in self._articles.find({"deleted_at": {"$exists": False}})]

    async def removed(self) -> dict[str, tuple[str, str]]:
        """Deleted (not yet purged) articles: id -> (slug, title), to name removed citations."""
        cursor = self._articles.find({"deleted_at": {"$exists": True}}, {"slug": 1, "title": 1})
        return {doc["_id"]: (doc["slug"], doc["title"]) async for doc in cursor}

    async def set_deleted(self, article_id: str, when: datetime | None) -> Article:
        """Soft delete (a time) or restore (None); raises ArticleNotFound."""
        doc = await self._articles.find_one({"_id": article_id})
        if doc is None:
            raise ArticleNotFound(article_id)
        doc.pop("deleted_at", None)
        if when is not None:
            doc["deleted_at"] = when
        await self._replace(doc, doc["version"])
        return _article(doc)

    async def purge(self, deleted_before: datetime) -> list[str]:
        """Delete for good the articles deleted before the time, with versions and slugs."""
        cursor = self._articles.find({"deleted_at": {"$lt": deleted_before}}, {"_id": 1})
        ids = [doc["_id"] async for doc in cursor]
        if ids:
            await self._versions.delete_many({"article_id": {"$in": ids}})
            await self._slugs.delete_many({"article_id": {"$in": ids}})
            await self._articles.delete_many({"_id": {"$in": ids}})
        return ids

    # Versions --------------------------------------------------------------------------------

    async def _add_version(self, article: Article, note: str) -> None:
        await self._versions.insert_one({
            "_id": f"{article.id}:{article.version}", "article_id": article.id, "version": article.version,
            **_fields(article), "saved_at": article.updated_at, "saved_by": _editor_doc(article.updated_by),
            "note": note,
        })

    async def versions(self, article_id: str) -> list[Version]:
        """Every save of the article, newest first."""
        cursor = self._versions.find({"article_id": article_id}).sort([("version", DESCENDING)])
        return [_version(doc) async for doc in cursor]

    async def version(self, article_id: str, number: int) -> Version:
        doc = await self._versions.find_one({"_id": f"{article_id}:{number}"})
        if doc is None:
            raise ArticleNotFound(f"{article_id} version {number}")
        return _version(doc)


def _editor_doc(editor: Editor | None) -> dict[str, str] | None:
    return {"id": editor.id, "name": editor.name} if editor else None


def _version(doc: dict[str, Any]) -> Version:
    article = _article(doc)
    saved_by = _editor(doc["saved_by"]) or Editor("", "")
    return Version(article.id, int(doc["version"]), article, doc["saved_at"], saved_by, doc["note"])

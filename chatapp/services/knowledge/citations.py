"""Turning the passage ids an answer stored into links to the articles it cited.

Ids are resolved to the article, not the passage, so a citation survives any edit: a passage
id `<article id>:<section>` finds the article by its immutable id and links its current slug
and title (after a rename too); a legacy `slug#n` id finds it by slug, earlier slugs included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chatapp.services.knowledge.index import KnowledgeBase


@dataclass(frozen=True)
class Citation:
    slug: str
    title: str
    removed: bool  # the article was deleted or unpublished since: show it as text, not a link


def _key(passage_id: str) -> tuple[str, str]:
    """("id", article id) or ("slug", slug) for a stored passage id."""
    if ":" in passage_id:
        return "id", passage_id.split(":", 1)[0]
    return "slug", passage_id.split("#", 1)[0]


def citations(
    kb: KnowledgeBase, passage_ids: Iterable[str], removed: Mapping[str, tuple[str, str]] | None = None
) -> list[Citation]:
    """Each cited article once, first citation first. One no longer published is kept with
    removed=True, named from `removed` (article id -> (slug, title), e.g.
    `KnowledgeService.removed_articles()`) when known; otherwise its slug or nothing."""
    removed = removed or {}
    found: dict[str, Citation] = {}
    for kind, value in dict.fromkeys(map(_key, passage_ids)):
        article = kb.article_by_id(value) if kind == "id" else kb.article(value)
        if article is not None:
            found.setdefault(article.id, Citation(article.slug, article.title, removed=False))
        else:
            slug, title = removed.get(value, ("", "")) if kind == "id" else (value, "")
            found.setdefault(f"{kind}:{value}", Citation(slug, title, removed=True))
    return list(found.values())


def cited_articles(kb: KnowledgeBase, passage_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(slug, title) of each cited article that is still published, first citation first;
    a removed one is left out rather than linked to a 404."""
    return [(c.slug, c.title) for c in citations(kb, passage_ids) if not c.removed]

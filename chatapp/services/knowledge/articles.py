"""Help articles and the knowledge/ Markdown format: YAML front matter, then the body.

The format is how the shipped articles are written, how an empty database is seeded, and what
import reads and export writes, so one parser and one writer serve all four.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

PUBLISHED = "published"
DRAFT = "draft"
STATUSES = (DRAFT, PUBLISHED)
DEFAULT_CATEGORY = "General"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_SEED_NAMESPACE = uuid.UUID("0f6b7c1e-8f1d-4d63-9a55-3c2f5b7e9d41")


@dataclass(frozen=True)
class Editor:
    """Who saved: kept with every version so history reads "who and when"."""

    id: str
    name: str


@dataclass(frozen=True)
class Article:
    id: str  # immutable; passage ids and citations hang on it, never on the slug
    slug: str
    title: str
    category: str
    body: str  # Markdown without the front matter
    status: str = PUBLISHED
    updated_at: datetime | None = None
    updated_by: Editor | None = None
    old_slugs: tuple[str, ...] = ()  # earlier addresses, which still resolve here
    version: int = 0  # number of saves; a save must name the version it edited
    deleted_at: datetime | None = field(default=None, compare=False)

    @property
    def updated(self) -> str:
        """The last save's date as ISO text (what the help page shows)."""
        return self.updated_at.date().isoformat() if self.updated_at else ""


def seed_id(slug: str) -> str:
    """The id of the article a file with this slug seeds: the same on every worker and every
    run, so concurrent seeding writes one article, and a folder-loaded base cites the same ids."""
    return uuid.uuid5(_SEED_NAMESPACE, slug).hex


def new_id() -> str:
    return uuid.uuid4().hex


def is_slug(text: str) -> bool:
    return bool(_SLUG.match(text))


def slugify(text: str) -> str:
    """Lowercase-hyphenated ASCII: "Réglages & SSO" -> "reglages-sso"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _date(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return _date(date.fromisoformat(str(value).strip()))
    except ValueError:
        return None


def parse_article(text: str) -> Article:
    """Parse one Markdown file; raises ValueError saying what is wrong, so the loader can log it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ValueError("no front matter (the file must start with a '---' block)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError("invalid front matter: expected 'key: value' lines")
    title = str(meta.get("title") or "").strip()
    slug = str(meta.get("slug") or "").strip()
    if not title:
        raise ValueError("front matter has no title")
    if not is_slug(slug):
        raise ValueError(f"front matter slug {slug!r} is missing or not lowercase-hyphenated")
    status = str(meta.get("status") or PUBLISHED).strip()
    return Article(
        id=seed_id(slug),
        slug=slug,
        title=title,
        category=str(meta.get("category") or DEFAULT_CATEGORY).strip(),
        body=text[match.end() :].strip(),
        status=status if status in STATUSES else PUBLISHED,
        updated_at=_date(meta.get("updated")),
    )


def render_article(article: Article) -> str:
    """The article as a knowledge/ file; `parse_article` reads back the same fields."""
    meta = {"title": article.title, "slug": article.slug, "category": article.category}
    if article.updated:
        meta["updated"] = article.updated
    meta["status"] = article.status
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000).strip()
    return f"---\n{front}\n---\n{article.body.strip()}\n"


def read_folder(directory: Path) -> list[Article]:
    """Every `*.md` in `directory`; a bad file or a repeated slug is logged and skipped, never fatal."""
    if not directory.is_dir():
        log.warning("Knowledge folder %s does not exist; the help centre is empty", directory)
    articles: dict[str, Article] = {}
    for path in sorted(directory.glob("*.md")):
        try:
            article = parse_article(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.warning("Skipping knowledge file %s: %s", path, exc)
            continue
        if article.slug in articles:
            log.warning("Skipping knowledge file %s: duplicate slug %r", path, article.slug)
            continue
        articles[article.slug] = article
    return list(articles.values())

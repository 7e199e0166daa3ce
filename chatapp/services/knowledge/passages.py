"""Articles cut into passages: the units that are ranked, quoted and cited.

A passage id is `<article id>:<section key>`, the key made from the section's own heading, so
adding, removing or reordering other sections never changes it (a `slug#n` id did).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatapp.services.knowledge.articles import Article, slugify

PASSAGE_WORDS = 170  # sections longer than this are split into block groups of about this size

_HEADING = re.compile(r"^##[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


OVERVIEW = "Overview"


@dataclass(frozen=True)
class Passage:
    id: str  # f"{article_id}:{section key}"
    article_id: str
    slug: str
    title: str
    heading: str
    text: str


def split_passages(article: Article) -> list[Passage]:
    """One passage per `##` section (the intro is "Overview"); long sections are split into
    groups of whole blocks (paragraphs, lists, code) of about PASSAGE_WORDS words, so each
    passage stays focused enough to rank and to quote."""
    sections: list[tuple[str, str]] = []
    starts = list(_HEADING.finditer(article.body))
    intro = article.body[: starts[0].start()] if starts else article.body
    if intro.strip():
        sections.append((OVERVIEW, intro))
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(article.body)
        sections.append((match.group(1), article.body[match.end() : end]))

    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for heading, text in sections:
        base = slugify(heading) or "section"
        seen[base] = seen.get(base, 0) + 1
        key = base if seen[base] == 1 else f"{base}-{seen[base]}"  # a repeated heading
        for n, chunk in enumerate(_chunk_blocks(blocks(text)), start=1):
            passage_id = f"{article.id}:{key}" if n == 1 else f"{article.id}:{key}.{n}"
            passages.append(Passage(passage_id, article.id, article.slug, article.title, heading, chunk))
    return passages


def blocks(text: str) -> list[str]:
    """Blank-line separated blocks, keeping fenced code blocks whole."""
    found: list[str] = []
    current: list[str] = []
    in_code = False
    for line in text.strip().splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        if not line.strip() and not in_code:
            if current:
                found.append("\n".join(current))
                current = []
        else:
            current.append(line.rstrip())
    if current:
        found.append("\n".join(current))
    return found


def _chunk_blocks(blocks_: list[str]) -> list[str]:
    chunks: list[list[str]] = [[]]
    words = 0
    for block in blocks_:
        size = len(block.split())
        if chunks[-1] and words + size > PASSAGE_WORDS:
            chunks.append([])
            words = 0
        chunks[-1].append(block)
        words += size
    return ["\n\n".join(chunk) for chunk in chunks if chunk]

"""Files in and out: Markdown, HTML or plain text to article drafts, and a zip of knowledge/ files.

HTML goes through BeautifulSoup and markdownify (MIT, well kept): <script>, <style> and other
elements whose text is code are removed whole first, then what survives is checked like any
save (safety.strip_unsafe), so an import never brings in HTML or script links.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from bs4 import BeautifulSoup
from markdownify import MarkdownConverter

from chatapp.services.knowledge.articles import (
    DEFAULT_CATEGORY,
    Article,
    parse_article,
    render_article,
    slugify,
)
from chatapp.services.knowledge.safety import strip_unsafe

MARKDOWN = (".md", ".markdown")
HTML = (".html", ".htm")
TEXT = (".txt",)
ACCEPTED = (*MARKDOWN, *HTML, *TEXT, ".zip")
MAX_TITLE = 120
MAX_ZIP_FILES = 2_000
MAX_UNZIPPED = 50_000_000
_CODE_ELEMENTS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head")
_TOP_HEADING = re.compile(r"\A#[ \t]+(.+?)[ \t]*#*[ \t]*(?:\n|\Z)")


@dataclass(frozen=True)
class Draft:
    """One imported file, ready to be saved as a draft article."""

    filename: str
    title: str
    slug: str
    category: str
    body: str
    notes: tuple[str, ...] = ()  # what the conversion removed or guessed


@dataclass
class ImportReport:
    created: list[Article] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, why)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file name, what changed)


def expand(files: Iterable[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    """The files, with each .zip replaced by the accepted files inside it (an export re-imports).
    A zip that is not one, or that unpacks to more than MAX_UNZIPPED bytes or MAX_ZIP_FILES
    files, is refused whole (ValueError) before anything in it is read."""
    for name, data in files:
        if not name.lower().endswith(".zip"):
            yield name, data
            continue
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise ValueError(f"{name} is not a zip file.") from None
        with archive:
            members = [info for info in archive.infolist()
                       if not info.is_dir() and info.filename.lower().endswith(ACCEPTED[:-1])]
            if len(members) > MAX_ZIP_FILES or sum(i.file_size for i in members) > MAX_UNZIPPED:
                raise ValueError(f"{name} holds more than {MAX_ZIP_FILES} files or "
                                 f"{MAX_UNZIPPED // 1_000_000} MB of articles.")
            for info in members:
                yield info.filename, archive.read(info)


def _decode(data: bytes) -> tuple[str, list[str]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), ["not UTF-8: read as Windows-1252"]


def html_to_markdown(html: str) -> tuple[str, str]:
    """(title, Markdown body) of an HTML page; the title is <title> or the first <h1>."""
    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for element in soup.find_all(_CODE_ELEMENTS):
        element.decompose()
    body = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(soup)
    return title, re.sub(r"\n{3,}", "\n\n", body).strip()


def _title_from_body(body: str, fallback: str) -> tuple[str, str]:
    """A leading `# Title` line becomes the title (and leaves the body)."""
    match = _TOP_HEADING.match(body.lstrip())
    if match:
        return match.group(1).strip(), body.lstrip()[match.end() :].strip()
    return fallback, body


def convert(filename: str, data: bytes) -> Draft:
    """One file as a draft; raises ValueError saying why it can't be imported."""
    suffix = PurePosixPath(filename).suffix.lower()
    stem = PurePosixPath(filename).stem.replace("-", " ").replace("_", " ").strip().capitalize()
    text, notes = _decode(data)
    category = DEFAULT_CATEGORY
    slug = ""
    if suffix in MARKDOWN and text.lstrip().startswith("---"):
        article = parse_article(text.lstrip())
        title, slug, category, body = article.title, article.slug, article.category, article.body
    elif suffix in MARKDOWN:
        title, body = _title_from_body(text.strip(), stem)
    elif suffix in HTML:
        title, body = html_to_markdown(text)
        title, body = _title_from_body(body, title or stem)
        if not title:
            title = stem
    elif suffix in TEXT:
        lines = text.strip().splitlines()
        first = lines[0].strip() if lines else ""
        if first and len(first) <= MAX_TITLE and len(lines) > 1:
            title, body = first, "\n".join(lines[1:]).strip()
        else:
            title, body = stem, text.strip()
    else:
        raise ValueError(f"unsupported file type {suffix or '(none)'}; use {', '.join(ACCEPTED)}")
    if not body.strip():
        raise ValueError("the file has no text")
    body, removed = strip_unsafe(body)
    notes += [f"removed: {problem}" for problem in removed]
    title = " ".join(title.split())[:MAX_TITLE]
    return Draft(filename, title, slug or slugify(title) or "article", category, body.strip(), tuple(notes))


def export_zip(articles: Iterable[Article]) -> bytes:
    """Every article as `<slug>.md` in the knowledge/ format, in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for article in articles:
            archive.writestr(f"{article.slug}.md", render_article(article))
    return buffer.getvalue()

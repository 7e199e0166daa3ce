"""Article Markdown that is safe to render: no raw HTML, links only to http(s) or in-app paths.

The help page and the chat render Markdown with raw HTML off, but an article is also exported,
imported and quoted to the model, so unsafe text is refused at the door rather than trusted to
every renderer. markdown-it (CommonMark) finds HTML and links the way a renderer would, also in
reference definitions and autolinks, which a regular expression would miss.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

_PARSER = MarkdownIt("commonmark")
_PARSER.validateLink = lambda url: True  # see every link, also the ones a renderer would drop


class UnsafeMarkdown(ValueError):
    """The body has raw HTML or links that are not allowed; `problems` says each, by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def allowed_link(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("http://", "https://")) or (url.startswith("/") and not url.startswith("//"))


def _inline(tokens: list[Token]) -> list[tuple[int, Token]]:
    """(1-based line, token) for every inline token, so problems can say where they are."""
    found = []
    for token in tokens:
        line = token.map[0] + 1 if token.map else 0
        if token.type == "html_block":
            found.append((line, token))
        for child in token.children or ():
            found.append((line, child))
    return found


def problems(markdown: str) -> list[str]:
    """What makes `markdown` unsafe, one sentence each; empty when it is fine."""
    found = []
    for line, token in _inline(_PARSER.parse(markdown)):
        if token.type in ("html_block", "html_inline"):
            snippet = " ".join(token.content.split())[:40]
            found.append(f"line {line}: raw HTML is not allowed ({snippet}); use Markdown instead")
        elif token.type in ("link_open", "image"):
            url = str(token.attrs.get("href") or token.attrs.get("src") or "")
            if not allowed_link(url):
                what = "image" if token.type == "image" else "link"
                found.append(
                    f"line {line}: {what} to {url[:60]!r} is not allowed; "
                    "use an http(s) address or an in-app path starting with /"
                )
    return found


def check(markdown: str) -> None:
    """Raise UnsafeMarkdown unless `markdown` is safe (used on every save)."""
    if found := problems(markdown):
        raise UnsafeMarkdown(found)


_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s]*\))*)>?(?:\s+[\"'(][^)]*[\"')])?\s*\)")
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^<>\s]*)>")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*<?(\S+?)>?(?:[ \t].*)?$", re.M)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)  # their text is code, not prose
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<!--.*?-->", re.S)


def strip_unsafe(markdown: str) -> tuple[str, list[str]]:
    """`markdown` without raw HTML and disallowed links (a link keeps its text), and what was
    removed; raises UnsafeMarkdown if something unsafe survives (used on import)."""
    found = problems(markdown)
    if not found:
        return markdown, []
    text = _LINK.sub(lambda m: m.group(0) if allowed_link(m.group(3)) else m.group(2), markdown)
    text = _AUTOLINK.sub(lambda m: m.group(0) if allowed_link(m.group(1)) else m.group(1), text)
    text = _REFERENCE.sub(lambda m: m.group(0) if allowed_link(m.group(1)) else "", text)
    text = _TAG.sub("", _SCRIPT.sub("", text))
    check(text)
    return text, found

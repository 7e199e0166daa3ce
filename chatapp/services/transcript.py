"""A conversation as a Markdown file, for the customer to download (and the team to keep).

Every message in the order the page shows it, each under who wrote it and when; an answer's
sources as links to the help centre (an article removed since is named, not linked); status
changes ("Alex from Support joined.") in italics. The customer's own words are escaped, so what
they typed reads as they typed it, never as Markdown; answers and the team's replies are
Markdown already and are kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from chatapp.models import ACTIVITY, AGENT_MESSAGE, ASSISTANT, USER, User
from chatapp.services.conversations import ThreadNotFound
from chatapp.services.knowledge import KnowledgeBase, citations
from chatapp.services.knowledge.articles import slugify
from chatapp.services.threads import Threads

MARKDOWN_TYPE = "text/markdown; charset=utf-8"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")
_LINK_TEXT = re.compile(r"([\\\[\]])")


@dataclass(frozen=True)
class Transcript:
    filename: str
    text: str
    media_type: str = MARKDOWN_TYPE

    @property
    def content(self) -> bytes:
        return self.text.encode("utf-8")


def _escaped(text: str) -> str:
    """Literal text in Markdown: every line kept (as a hard line break), no marks, no HTML."""
    lines = [_MARKDOWN.sub(r"\\\1", line.rstrip()) for line in text.strip().splitlines()]
    return "  \n".join(lines)


class Transcripts:
    def __init__(self, threads: Threads, knowledge: Callable[[], KnowledgeBase],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.threads = threads
        self.knowledge = knowledge
        self.clock = clock

    async def markdown(self, viewer: User, chat_id: str, *, base_url: str = "",
                       tz: tzinfo = UTC) -> Transcript:
        """The conversation as Markdown, for its customer or the support team; source links
        point at `base_url` + /help/<slug> (a relative link without it). Raises ThreadNotFound
        (also for another customer's conversation)."""
        thread = await (self.threads.get_any(chat_id) if viewer.on_team
                        else self.threads.get(viewer.id, chat_id))
        if thread is None:
            raise ThreadNotFound(chat_id)
        messages = await self.threads.messages(thread.owner, thread.id)
        kb = self.knowledge()
        root = base_url.rstrip("/")
        customer = "You" if thread.owner == viewer.id else (thread.customer_name or "Customer")

        def when(moment: datetime) -> str:
            return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

        zone = getattr(tz, "key", None) or str(tz)
        out = [f"# {_escaped(thread.title)}", "",
               f"Conversation {thread.id}, started {when(thread.created_at)} ({zone}); "
               f"downloaded {when(self.clock())}.", ""]
        for message in messages:
            if message.role == USER:
                out += [f"**{_escaped(customer)}** · {when(message.created_at)}", "",
                        _escaped(message.content), ""]
            elif message.role == ASSISTANT:
                if not message.content.strip():
                    continue  # being written, or failed before writing anything
                out += [f"**Assistant** · {when(message.created_at)}", "", message.content.strip(), ""]
                if message.status == "stopped":
                    out += ["*(stopped)*", ""]
                elif message.status == "failed":
                    out += ["*(interrupted)*", ""]
                links = []
                for cited in citations(kb, message.sources):
                    title = _LINK_TEXT.sub(r"\\\1", cited.title or cited.slug or "a removed article")
                    links.append(title if cited.removed else f"[{title}]({root}/help/{cited.slug})")
                if links:
                    out += [f"Sources: {', '.join(links)}", ""]
            elif message.role == AGENT_MESSAGE:
                author = _escaped(message.author or "Support")
                out += [f"**{author} · Support** · {when(message.created_at)}", "",
                        message.content.strip(), ""]
            elif message.role == ACTIVITY or message.content.strip():  # status changes, action cards
                out += [f"*{_escaped(message.content)}* · {when(message.created_at)}", ""]
        name = slugify(thread.title)[:50].strip("-") or thread.id
        return Transcript(f"conversation-{name}.md", "\n".join(out).rstrip() + "\n")

"""Help-centre knowledge base: articles in MongoDB, passage-level BM25 retrieval, a built-in responder.

Domain layer only (no UI imports), so the chat, the /help page, the admin pages, the eval
script and the tests all share one behaviour. Modules hold one idea each; this file names the API.
"""

from chatapp.services.knowledge.articles import (
    DRAFT,
    PUBLISHED,
    Article,
    Editor,
    parse_article,
    render_article,
)
from chatapp.services.knowledge.citations import Citation, citations, cited_articles
from chatapp.services.knowledge.compose import DECLINE_TEXT, SUPPORT_EMAIL, compose_answer
from chatapp.services.knowledge.files import ImportReport
from chatapp.services.knowledge.index import KnowledgeBase
from chatapp.services.knowledge.passages import PASSAGE_WORDS, Passage
from chatapp.services.knowledge.retrieval import Hit, Retrieval
from chatapp.services.knowledge.safety import UnsafeMarkdown
from chatapp.services.knowledge.service import RESTORE_DAYS, InvalidArticle, KnowledgeService
from chatapp.services.knowledge.small_talk import small_talk_reply
from chatapp.services.knowledge.store import ArticleNotFound, EditConflict, SlugTaken, Version

__all__ = [
    "DECLINE_TEXT",
    "DRAFT",
    "PASSAGE_WORDS",
    "PUBLISHED",
    "RESTORE_DAYS",
    "SUPPORT_EMAIL",
    "Article",
    "ArticleNotFound",
    "Citation",
    "EditConflict",
    "Editor",
    "Hit",
    "ImportReport",
    "InvalidArticle",
    "KnowledgeBase",
    "KnowledgeService",
    "Passage",
    "Retrieval",
    "SlugTaken",
    "UnsafeMarkdown",
    "Version",
    "citations",
    "cited_articles",
    "compose_answer",
    "parse_article",
    "render_article",
    "small_talk_reply",
]

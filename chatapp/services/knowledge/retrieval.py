"""What a search returns: ranked passages and whether they are good enough to answer from."""

from __future__ import annotations

from dataclasses import dataclass

from chatapp.services.knowledge.passages import Passage


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


@dataclass(frozen=True)
class Retrieval:
    """Best passages for a question and whether they are trustworthy enough to answer from.

    `covered` uses *query coverage*: the share of the query's information (question terms at
    full weight, recent-turn terms at HISTORY_WEIGHT) that the best passage's article contains,
    where a term also counts when one of its synonyms is present. A term's information is its
    specificity (`KnowledgeBase._specificity`): mostly how few *articles* use it, so a word in
    nearly every article ("agent", "call", "message") adds next to nothing, and a word the help
    centre never uses carries the most. Raw BM25 scores grow with query length and can't be
    compared across questions; coverage is in [0, 1] and reads directly as "how much of what was
    asked do we have text for". Off-topic questions ("best lasagne recipe") and questions about
    a feature the help centre doesn't describe ("can the agent send WhatsApp messages") are
    dominated by words no article uses, so they score low even when stray in-domain words match.
    COVERAGE_THRESHOLD sits between the two populations of bench/kb_questions.json.
    """

    hits: tuple[Hit, ...]
    covered: bool
    coverage: float = 0.0
    terms: tuple[str, ...] = ()  # the question's stemmed, spelling-fixed terms

    @property
    def cited_slugs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.passage.slug for hit in self.hits))

"""The knowledge base customers search: published articles, their passages and BM25 indexes.

A KnowledgeBase is a snapshot that never changes once built. An edit makes a new snapshot with
`with_article` / `without_article`, re-analysing only the edited article and sharing the rest,
so searches running meanwhile (in any thread) see either the old snapshot or the new one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatapp.services.knowledge.articles import PUBLISHED, Article, read_folder
from chatapp.services.knowledge.bm25 import Bm25
from chatapp.services.knowledge.passages import Passage, split_passages
from chatapp.services.knowledge.query import HISTORY_TURNS, HISTORY_WEIGHT, Query
from chatapp.services.knowledge.retrieval import Hit, Retrieval
from chatapp.services.knowledge.spelling import Speller
from chatapp.services.knowledge.text import (
    SYNONYM_STEMS,
    VOCABULARY_WORDS,
    rewrite,
    stem,
    surface_words,
    tokenize,
    words,
)
from chatapp.services.knowledge.vocabulary import STOPWORDS

# Chosen on bench/kb_questions*.json; see `Retrieval` for the threshold.
TITLE_REPEAT = 3  # title and heading words are indexed this many times: they summarise the text
ARTICLE_WEIGHT = 0.5  # share of the whole-article score added to each of its passages
PASSAGES_PER_ARTICLE = 2  # at most this many of the k hits from one article, so a runner-up is seen
ARTICLE_IDF_SHARE = 0.75  # coverage weighs a term by how well it tells articles apart (see below)
COVERAGE_THRESHOLD = 0.465


@dataclass(frozen=True)
class _Analysis:
    """Everything indexing needs from one article, computed once per save."""

    article: Article
    passages: tuple[Passage, ...]
    passage_terms: tuple[Counter[str], ...]
    article_terms: Counter[str]
    terms: frozenset[str]  # for coverage

    def words(self) -> Iterator[str]:
        """Surface words, for the speller (recomputed rather than kept: memory)."""
        for p in self.passages:
            yield from surface_words(f"{p.title} {p.heading} {p.text}")

    def passage_documents(self) -> list[tuple[str, Counter[str]]]:
        return list(zip((p.id for p in self.passages), self.passage_terms, strict=True))


def _analyse(article: Article) -> _Analysis:
    passages = tuple(split_passages(article))
    passage_terms = tuple(
        Counter(tokenize(" ".join([p.title, p.heading] * TITLE_REPEAT + [p.text]))) for p in passages
    )
    return _Analysis(
        article=article,
        passages=passages,
        passage_terms=passage_terms,
        article_terms=Counter(tokenize(" ".join([article.title] * TITLE_REPEAT + [article.body]))),
        terms=frozenset(t for terms in passage_terms for t in terms),
    )


def _sorted(articles: Iterable[Article]) -> tuple[Article, ...]:
    return tuple(sorted(articles, key=lambda a: (a.category.lower(), a.title.lower(), a.id)))


class KnowledgeBase:
    """Published articles plus passage and article indexes; searches are read-only and thread-safe."""

    def __init__(self, articles: Iterable[Article] = ()) -> None:
        ordered = _sorted(a for a in articles if a.status == PUBLISHED)
        self._analyses = {a.id: _analyse(a) for a in ordered}
        self._speller = Speller(
            (w for analysis in self._analyses.values() for w in analysis.words()), VOCABULARY_WORDS, STOPWORDS
        )
        self._article_index = Bm25((a.id, self._analyses[a.id].article_terms) for a in ordered)
        self._passage_index = Bm25(d for a in ordered for d in self._analyses[a.id].passage_documents())
        self._index_slots()

    @classmethod
    def load(cls, directory: str | Path) -> KnowledgeBase:
        """Load every `*.md` in `directory`; a bad file is logged and skipped, never fatal."""
        return cls(read_folder(Path(directory)))

    def _index_slots(self) -> None:
        """Lookups derived from the analyses and the indexes' slots."""
        self.articles: tuple[Article, ...] = _sorted(a.article for a in self._analyses.values())
        self._by_slug = {slug: a.id for a in self.articles for slug in (*a.old_slugs, a.slug)}
        self._by_passage = {p.id: p for a in self._analyses.values() for p in a.passages}
        self._slot_passage: list[Passage | None] = [None] * self._passage_index.size
        for passage in self._by_passage.values():
            self._slot_passage[self._passage_index.slot(passage.id)] = passage
        self._passage_article = np.array(
            [-1 if p is None else self._article_index.slot(p.article_id) for p in self._slot_passage],
            dtype=np.int64,
        )

    # Reading ---------------------------------------------------------------------------------

    def article(self, slug: str) -> Article | None:
        """The published article at `slug`, its current address or an earlier one."""
        article_id = self._by_slug.get(slug)
        return self._analyses[article_id].article if article_id else None

    def article_by_id(self, article_id: str) -> Article | None:
        analysis = self._analyses.get(article_id)
        return analysis.article if analysis else None

    def passage(self, passage_id: str) -> Passage | None:
        return self._by_passage.get(passage_id)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return tuple(p for p in self._slot_passage if p is not None)

    # Editing ---------------------------------------------------------------------------------

    def with_article(self, article: Article) -> KnowledgeBase:
        """A snapshot with `article` added or replaced; a draft is taken out (not searchable)."""
        if article.status != PUBLISHED:
            return self.without_article(article.id)
        return self._replaced(article.id, _analyse(article))

    def without_article(self, article_id: str) -> KnowledgeBase:
        return self._replaced(article_id, None) if article_id in self._analyses else self

    def _replaced(self, article_id: str, analysis: _Analysis | None) -> KnowledgeBase:
        new = object.__new__(KnowledgeBase)
        new._speller = self._speller
        new._analyses = dict(self._analyses)
        old = new._analyses.pop(article_id, None)
        old_passages = [p.id for p in old.passages] if old else []
        if analysis is not None:
            new._analyses[article_id] = analysis
            self._speller.learn(analysis.words())
        new._article_index = self._article_index.replaced(
            [article_id], [(article_id, analysis.article_terms)] if analysis else []
        )
        new._passage_index = self._passage_index.replaced(
            old_passages, analysis.passage_documents() if analysis else []
        )
        new._index_slots()
        return new

    # Search ----------------------------------------------------------------------------------

    def _tokens(self, text: str) -> list[str]:
        """Query tokens: idioms rewritten, spelling fixed, stemmed; unique, in order."""
        return list(dict.fromkeys(stem(words(rewrite(text), self._speller.correct))))

    def _query(self, question: str, recent_turns: Sequence[str]) -> Query:
        terms = self._tokens(question)
        history = [t for t in self._tokens(" ".join(list(recent_turns)[-HISTORY_TURNS:])) if t not in terms]
        return Query(
            tuple(terms),
            tuple(history),
            {t: SYNONYM_STEMS[t] for t in [*terms, *history] if t in SYNONYM_STEMS},
        )

    def _rank(self, query: Query) -> np.ndarray:
        """Weighted sum of passage scores plus ARTICLE_WEIGHT times the passage's whole-article
        score: customers' words are often spread over an article's sections, and the article
        score keeps a stray matching section of another article from winning. Each term is
        scored together with its synonyms (`Bm25.group_scores`)."""
        groups = query.groups()
        # A removed passage's article slot is -1: the appended zero.
        article_scores = np.append(self._article_index.group_scores(groups), 0)[self._passage_article]
        return self._passage_index.group_scores(groups) + ARTICLE_WEIGHT * article_scores

    def _specificity(self, term: str) -> float:
        """How well `term` tells the help centre's articles apart, in [0, 1]: its IDF among
        passages and among whole articles, each over the IDF of a word no article uses, blended
        by ARTICLE_IDF_SHARE. Coverage asks whether one *article* has what was asked, so a word
        found in most articles ("agent", "call") weighs next to nothing there, even when it is
        rare enough among passages to matter for ranking them."""
        passages, articles = self._passage_index, self._article_index
        return (1 - ARTICLE_IDF_SHARE) * passages.idf(term) / passages.max_idf + (
            ARTICLE_IDF_SHARE * articles.idf(term) / articles.max_idf
        )

    def _coverage(self, query: Query, article_id: str) -> float:
        """Specificity-weighted share of the query found in the article (see `Retrieval`)."""
        present = self._analyses[article_id].terms
        found = total = 0.0
        for weight, terms in ((1.0, query.terms), (HISTORY_WEIGHT, query.history)):
            for term in terms:
                information = weight * self._specificity(term)
                total += information
                if term in present or not present.isdisjoint(query.synonyms.get(term, ())):
                    found += information
        return found / total if total else 0.0

    def _top(self, scores: np.ndarray, k: int) -> list[int]:
        """The k best slots, at most PASSAGES_PER_ARTICLE of them from one article while others
        match (a second and third section of the best article add less than the best section of
        the runner-up); further sections fill up only when no other article matches."""
        n = k * PASSAGES_PER_ARTICLE
        while n > 0:
            candidates = _top_indices(scores, n)
            chosen: list[int] = []
            held_back: list[int] = []
            per_article: Counter[int] = Counter()
            for i in candidates:
                article = int(self._passage_article[i])
                per_article[article] += 1
                (chosen if per_article[article] <= PASSAGES_PER_ARTICLE else held_back).append(i)
                if len(chosen) == k:
                    return chosen
            if len(candidates) < n:  # every positive score was seen
                return sorted(chosen + held_back[: k - len(chosen)], key=lambda i: -scores[i])
            n *= 4
        return []

    def search(self, question: str, recent_turns: Sequence[str] = (), k: int = 3) -> Retrieval:
        """Top-k passages for `question`, with earlier user turns as lower-weight context."""
        query = self._query(question, recent_turns)
        if not self._analyses or not (query.terms or query.history):
            return Retrieval(hits=(), covered=False)
        scores = self._rank(query)
        hits = tuple(Hit(self._slot_passage[i], float(scores[i])) for i in self._top(scores, k))
        if not hits:
            return Retrieval(hits=(), covered=False)
        coverage = self._coverage(query, hits[0].passage.article_id)
        return Retrieval(hits, coverage >= COVERAGE_THRESHOLD, coverage, query.terms)

    def search_articles(self, query: str, limit: int = 20) -> list[Article]:
        """Articles for the help-page search box, best passage first; empty query lists all."""
        if not query.strip():
            return list(self.articles[:limit])
        parsed = self._query(query, ())
        if not self._analyses or not parsed.terms:
            return []
        scores = self._rank(parsed)
        ids = dict.fromkeys(self._slot_passage[i].article_id for i in _top_indices(scores, len(scores)))
        return [self._analyses[article_id].article for article_id in list(ids)[:limit]]


def _top_indices(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the k best positive scores, best first (ties keep index order). Removed
    passages score 0, so they never appear."""
    if k < len(scores):
        candidates = np.argpartition(-scores, k)[:k]
        order = candidates[np.lexsort((candidates, -scores[candidates]))]
    else:
        order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order if scores[i] > 0]


"""Knowledge gaps: the questions the assistant declined, and the ones whose answers customers
marked not helpful, grouped into topics an agent can write one article for.

Plain text processing, no model: each question becomes its stemmed content words (the help
centre's own normalisation, `knowledge.text`), each weighted by how specific it is: rare in the
help centre's articles (gaps are about what they lack: "call" and "agent" are everywhere there,
"WhatsApp" nowhere) and rare in English (pyspellchecker's word frequencies: "good" or "give"
name no topic, "fax" does). Questions with the same words are one phrasing; phrasings are then
grouped bottom-up (average-linkage agglomerative clustering on the cosine of their weighted
words), merging the two closest groups while they share enough: "Do you integrate with
WhatsApp?" and "can callers message us on WhatsApp" meet on "whatsapp"; "lasagne recipe" and
"weather in Paris" share nothing and stay apart. A topic is named by the words most of its
questions share.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
from spellchecker import SpellChecker

from chatapp.services.knowledge.index import KnowledgeBase
from chatapp.services.knowledge.text import rewrite, stem, tokenize, words

DECLINED, THUMBS_DOWN = "declined", "thumbs_down"
THRESHOLD = 0.3  # the least average similarity at which two groups are one topic
MAX_PHRASINGS = 2000  # grouped exactly; rarer phrasings beyond these join the nearest topic
EXAMPLES = 5
LABEL_TERMS = 3
_ORIGINAL_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?(?:-[A-Za-z0-9]+)*")
COMMON_ENGLISH_COUNT = 1000  # rarer words than this all weigh as rare (and need not be kept)
ENGLISH_SMOOTHING = 10_000  # so words of middling frequency still weigh more than common ones
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


@dataclass(frozen=True)
class GapQuestion:
    """A customer's question the help centre did not serve: `kind` DECLINED (the assistant
    said it could not answer) or THUMBS_DOWN (it answered, and the customer said it did not help)."""

    text: str
    kind: str = DECLINED
    chat_id: str = ""
    message_id: str = ""  # the answer's id
    reasons: tuple[str, ...] = ()  # thumbs down: why (feedback.REASONS)
    asked_at: datetime | None = None


@dataclass(frozen=True)
class Topic:
    label: str  # the words its questions share, "WhatsApp · text"
    terms: tuple[str, ...]  # those words
    count: int  # questions in the topic, repeats included
    declined: int
    thumbs_down: int
    examples: tuple[str, ...]  # distinct questions, the most asked (then the most typical) first
    chat_ids: tuple[str, ...]  # a conversation for each example, to open it
    title: str  # a suggested article title
    body: str  # a Markdown draft for the knowledge editor, listing the questions
    reasons: dict[str, int] = field(default_factory=dict)  # thumbs-down reasons, counted

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "terms": list(self.terms), "count": self.count,
                "declined": self.declined, "thumbs_down": self.thumbs_down,
                "examples": list(self.examples), "chat_ids": list(self.chat_ids),
                "title": self.title, "body": self.body, "reasons": dict(self.reasons)}


@cache
def _english() -> tuple[dict[str, int], int]:
    """English word counts (the common ones) and the total count."""
    counts = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return {w: n for w, n in counts.items() if n >= COMMON_ENGLISH_COUNT}, sum(counts.values())


class Weights:
    """How much a word says about a question's topic: log-scaled rarity in the help centre's
    passages (when given a knowledge base) times log-scaled rarity in English."""

    _by_kb: weakref.WeakKeyDictionary[KnowledgeBase, Weights] = weakref.WeakKeyDictionary()

    def __init__(self, knowledge: KnowledgeBase | None = None) -> None:
        self._passages = 0
        self._df: Counter[str] = Counter()
        if knowledge is not None:
            passages = knowledge.passages
            self._passages = len(passages)
            self._df = Counter(t for p in passages for t in set(tokenize(f"{p.title} {p.heading} {p.text}")))

    @classmethod
    def of(cls, knowledge: KnowledgeBase | None) -> Weights:
        """One per knowledge base (built once: tokenising every passage takes a moment)."""
        if knowledge is None:
            return cls()
        found = cls._by_kb.get(knowledge)
        if found is None:
            found = cls._by_kb[knowledge] = cls(knowledge)
        return found

    def __call__(self, term: str, word: str) -> float:
        counts, total = _english()
        english = math.log(1 + total / (counts.get(word, 0) + ENGLISH_SMOOTHING))
        if not self._passages:
            return english
        return english * math.log(1 + self._passages / (self._df.get(term, 0) + 1))


@dataclass
class _Phrasing:
    """Questions with the same content words."""

    terms: tuple[str, ...]
    questions: list[int] = field(default_factory=list)  # indexes into the input


def _analyse(text: str) -> tuple[list[str], dict[str, str]]:
    """(stems in order, each once; stem -> the word as the customer wrote it)."""
    surface = words(rewrite(text))
    stems = stem(surface)
    typed = {w.lower().replace("’", "'").replace("-", ""): w for w in _ORIGINAL_WORD.findall(text)}
    seen: dict[str, str] = {}
    for word, term in zip(surface, stems, strict=True):
        if term.isdigit() or len(term) < 2:
            continue
        seen.setdefault(term, typed.get(word, word))
    return list(seen), seen


def _similarities(phrasings: list[_Phrasing], idf: dict[str, float]) -> np.ndarray:
    """Cosine similarity of every pair of phrasings (idf-weighted words), diagonal -inf."""
    count = len(phrasings)
    norms = np.array([math.sqrt(sum(idf[t] ** 2 for t in p.terms)) or 1.0 for p in phrasings])
    postings: dict[str, list[int]] = defaultdict(list)
    for index, phrasing in enumerate(phrasings):
        for term in phrasing.terms:
            postings[term].append(index)
    sims = np.zeros((count, count), dtype=np.float64)
    for term, members in postings.items():
        if len(members) < 2:
            continue
        at = np.array(members)
        weights = idf[term] / norms[at]
        sims[np.ix_(at, at)] += np.outer(weights, weights)
    np.fill_diagonal(sims, -np.inf)
    return sims


def _agglomerate(sims: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage agglomerative clustering, cut at `threshold`: merge the two closest
    groups while their average similarity is at least `threshold`. Nearest-neighbour chains
    (average linkage never brings two groups closer by a merge), so O(n²) time in numpy."""
    count = len(sims)
    size = np.ones(count)
    members: list[list[int]] = [[i] for i in range(count)]
    open_ = np.ones(count, dtype=bool)  # may still merge
    done: list[list[int]] = []
    chain: list[int] = []
    next_start = 0
    while True:
        if not chain:
            while next_start < count and not open_[next_start]:
                next_start += 1
            if next_start >= count:
                break
            chain = [next_start]
        a = chain[-1]
        row = sims[a]
        b = int(np.argmax(row))
        best = row[b]
        if len(chain) >= 2 and row[chain[-2]] >= best:
            b, best = chain[-2], row[chain[-2]]
        if not best >= threshold:  # nothing close enough, now or after any later merge
            open_[a] = False
            sims[a, :] = -np.inf
            sims[:, a] = -np.inf
            done.append(members[a])
            chain.pop()
            continue
        if len(chain) >= 2 and b == chain[-2]:
            merged = (size[a] * sims[a] + size[b] * sims[b]) / (size[a] + size[b])
            sims[a, :] = merged
            sims[:, a] = merged
            sims[a, a] = -np.inf
            sims[b, :] = -np.inf
            sims[:, b] = -np.inf
            open_[b] = False
            size[a] += size[b]
            members[a] += members[b]
            members[b] = []
            chain.pop()
            chain.pop()
        else:
            chain.append(b)
    return done


def _escaped(text: str) -> str:
    """A customer's question as one line of literal Markdown text (no HTML, links or marks)."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _title(question: str) -> str:
    text = " ".join(question.split())
    if len(text) > 120:
        text = text[:120].rsplit(" ", 1)[0] + "…"
    return text[:1].upper() + text[1:]


def draft_body(examples: Sequence[str], count: int, declined: int, thumbs_down: int) -> str:
    """The knowledge editor's starting point for a topic: what customers asked, and where the
    answer goes."""
    how = []
    if declined:
        how.append(f"{declined} the assistant could not answer")
    if thumbs_down:
        how.append(f"{thumbs_down} whose answers customers marked not helpful")
    times = "once" if count == 1 else f"{count} times"
    lines = [f"Customers asked about this {times} ({' and '.join(how)}).", "",
             "## What customers asked", ""]
    lines += [f"- {_escaped(example)}" for example in examples]
    lines += ["", "## Answer", "", "Write the answer here: what is possible, where to find it in the app, "
              "and what to do instead when it is not possible.", ""]
    return "\n".join(lines)


def group_questions(questions: Sequence[GapQuestion], knowledge: KnowledgeBase | None = None, *,
                    threshold: float = THRESHOLD, examples: int = EXAMPLES) -> list[Topic]:
    """Topics of `questions`, the biggest first, with words weighed against `knowledge` (the
    published help centre) when given. A question with no content words ("??", "hi") is left out."""
    analysed = [_analyse(q.text) for q in questions]
    by_terms: dict[frozenset[str], _Phrasing] = {}
    for index, (terms, _) in enumerate(analysed):
        if terms:
            by_terms.setdefault(frozenset(terms), _Phrasing(tuple(terms))).questions.append(index)
    if not by_terms:
        return []
    phrasings = sorted(by_terms.values(), key=lambda p: (-len(p.questions), p.questions[0]))
    weight = Weights.of(knowledge)
    idf: dict[str, float] = {}
    for terms, typed in analysed:
        for term in terms:
            if term not in idf:
                idf[term] = weight(term, typed[term].lower().replace("’", "'"))
    head, tail = phrasings[:MAX_PHRASINGS], phrasings[MAX_PHRASINGS:]
    groups = [[head[i] for i in group] for group in _agglomerate(_similarities(head, idf), threshold)]
    if tail:
        groups = _attach(groups, tail, idf, threshold)
    topics = [_topic(group, questions, analysed, idf, examples) for group in groups]
    return sorted(topics, key=lambda t: (-t.count, -t.declined, t.label))


def _attach(groups: list[list[_Phrasing]], tail: list[_Phrasing], idf: dict[str, float],
            threshold: float) -> list[list[_Phrasing]]:
    """Put each rare phrasing past MAX_PHRASINGS in the topic whose words it is closest to
    (cosine with the topic's average), or in a topic of its own."""
    centroids = []
    for group in groups:
        weights: Counter[str] = Counter()
        for phrasing in group:
            norm = math.sqrt(sum(idf[t] ** 2 for t in phrasing.terms)) or 1.0
            for term in phrasing.terms:
                weights[term] += idf[term] / norm / len(group)
        centroids.append((weights, math.sqrt(sum(v * v for v in weights.values())) or 1.0))
    index: dict[str, list[int]] = defaultdict(list)
    for at, (weights, _) in enumerate(centroids):
        for term in weights:
            index[term].append(at)
    extra: list[list[_Phrasing]] = []
    for phrasing in tail:
        norm = math.sqrt(sum(idf[t] ** 2 for t in phrasing.terms)) or 1.0
        scores: Counter[int] = Counter()
        for term in phrasing.terms:
            for at in index.get(term, ()):
                scores[at] += centroids[at][0][term] * idf[term] / norm
        best = max(scores, key=lambda at: scores[at] / centroids[at][1], default=None)
        if best is not None and scores[best] / centroids[best][1] >= threshold:
            groups[best].append(phrasing)
        else:
            extra.append([phrasing])
    return groups + extra


def _topic(group: list[_Phrasing], questions: Sequence[GapQuestion],
           analysed: list[tuple[list[str], dict[str, str]]], idf: dict[str, float], examples: int) -> Topic:
    asked = [i for phrasing in group for i in phrasing.questions]
    count = len(asked)
    share: Counter[str] = Counter()
    typed: dict[str, Counter[str]] = defaultdict(Counter)
    for i in asked:
        terms, surface = analysed[i]
        for term in terms:
            share[term] += 1
            typed[term][surface[term]] += 1
    ranked = sorted(share, key=lambda t: (-share[t] * idf[t], t))
    shared = [typed[t].most_common(1)[0][0] for t in ranked if share[t] * 2 > count or count == 1] or \
        [typed[ranked[0]].most_common(1)[0][0]]
    # "self-hosted" also yields "self" and "hosted": name it once, as written
    flat = {w: w.lower().replace("-", "") for w in shared}
    terms = tuple([w for w in shared if not any(flat[w] != flat[o] and flat[w] in flat[o] and "-" in o
                                                  for o in shared)][:LABEL_TERMS])

    def typical(phrasing: _Phrasing) -> float:  # how many of the topic's shared words it has
        return sum(share[t] * idf[t] for t in phrasing.terms) / (len(phrasing.terms) ** 0.5)

    ordered = sorted(group, key=lambda p: (-len(p.questions), -typical(p), p.questions[0]))
    shown: list[tuple[str, str]] = []
    for phrasing in ordered:
        texts = Counter(" ".join(questions[i].text.split()) for i in phrasing.questions)
        text = texts.most_common(1)[0][0]
        first = next(i for i in phrasing.questions if " ".join(questions[i].text.split()) == text)
        shown.append((text, questions[first].chat_id))
        if len(shown) == examples:
            break
    declined = sum(questions[i].kind == DECLINED for i in asked)
    thumbs_down = count - declined
    reasons = Counter(r for i in asked if questions[i].kind == THUMBS_DOWN for r in questions[i].reasons)
    example_texts = tuple(text for text, _ in shown)
    return Topic(
        label=" · ".join(terms), terms=terms, count=count, declined=declined, thumbs_down=thumbs_down,
        examples=example_texts, chat_ids=tuple(chat for _, chat in shown),
        title=_title(next((t for t in example_texts if len(t.split()) >= 3), example_texts[0])),
        body=draft_body(example_texts, count, declined, thumbs_down), reasons=dict(reasons))

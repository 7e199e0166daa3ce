"""A question as weighted search terms: its own words, recent turns, and synonyms."""

from __future__ import annotations

from dataclasses import dataclass

HISTORY_WEIGHT = 0.35  # earlier user turns steer follow-ups but never outweigh the question
HISTORY_TURNS = 2
SYNONYM_WEIGHT = 0.5  # an occurrence of a synonym counts half an occurrence of the user's own word


@dataclass(frozen=True)
class Query:
    terms: tuple[str, ...]
    history: tuple[str, ...]
    synonyms: dict[str, tuple[str, ...]]  # question or history term -> other terms that express it

    def groups(self) -> list[tuple[float, str, tuple[tuple[str, float], ...]]]:
        """(weight, term, alternatives) per term, for `Bm25.group_scores`: question terms weigh 1
        and recent-turn terms HISTORY_WEIGHT; the alternatives are the term's synonyms, each
        occurrence counting SYNONYM_WEIGHT of one. A synonym that is itself a question term is
        left to that term."""
        own = set(self.terms)
        return [
            (weight, term, tuple((s, SYNONYM_WEIGHT) for s in self.synonyms.get(term, ()) if s not in own))
            for weight, terms in ((1.0, self.terms), (HISTORY_WEIGHT, self.history))
            for term in terms
        ]

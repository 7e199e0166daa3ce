"""An Okapi BM25 index that can add and remove documents without rebuilding.

bm25s (used before) precomputes every score, so one edited article meant re-indexing the
whole help centre. Here postings keep raw term frequencies and scores are computed at query
time from the live document count, frequencies and lengths, with the same formula (Lucene's,
as bm25s uses). An index is never changed in place: `replaced` returns a new one that shares
the untouched postings, so a search running in another thread always sees one consistent index.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np

K1 = 1.5
B = 0.75
COMPACT_RATIO = 0.5  # rebuild once this share of slots belongs to removed documents


class Bm25:
    def __init__(self, documents: Iterable[tuple[Hashable, Mapping[str, int]]] = ()) -> None:
        self._slot: dict[Hashable, int] = {}
        self._terms: list[Mapping[str, int] | None] = []  # per slot; None once removed
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._length = np.zeros(0, dtype=np.float32)
        self._total_length = 0.0
        self._add(list(documents))

    @property
    def size(self) -> int:
        """Slots, live or removed: the length of every score array."""
        return len(self._terms)

    def slot(self, key: Hashable) -> int | None:
        return self._slot.get(key)

    def document_frequency(self, term: str) -> int:
        postings = self._postings.get(term)
        return 0 if postings is None else len(postings[0])

    @property
    def documents(self) -> int:
        return len(self._slot)

    def idf(self, term: str) -> float:
        n, df = self.documents, self.document_frequency(term)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    @property
    def max_idf(self) -> float:
        """The idf of a term no document contains: the most informative a term can be."""
        return self.idf("")

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """Summed BM25 score of `tokens` (each counted once) for every slot."""
        scores = np.zeros(self.size, dtype=np.float32)
        if not self._slot:
            return scores
        average = self._total_length / len(self._slot)
        for term in dict.fromkeys(tokens):
            postings = self._postings.get(term)
            if postings is None:
                continue
            slots, tf = postings
            norm = K1 * (1 - B + B * self._length[slots] / average)
            scores[slots] += self.idf(term) * tf / (tf + norm)
        return scores

    def group_scores(self, groups: Iterable[tuple[float, str, Sequence[tuple[str, float]]]]) -> np.ndarray:
        """Summed `weight` x BM25 of each (weight, term, alternatives) group, for every slot.

        A term's alternatives (its synonyms, each with the share of an occurrence it counts for)
        are pooled with it into one term frequency, as Lucene's SynonymQuery does: a passage that
        says "erasure" matches "wipe" as one term, saturating once, so a word with many synonyms
        can't outweigh the rest of the question, yet each synonym can match on its own (sharing
        out a fixed weight, as before, left a word with four synonyms a quarter each). The idf
        is the user's word's own, so a broader alternative ("plan" for "cost") has its share cut
        by its idf over the word's: it must not borrow the word's specificity. A term the corpus
        never uses is matched by its alternatives alone, with the idf of the rarest of them.
        """
        scores = np.zeros(self.size, dtype=np.float32)
        if not self._slot:
            return scores
        average = self._total_length / len(self._slot)
        for weight, term, alternatives in groups:
            present = [(t, share) for t, share in ((term, 1.0), *alternatives) if t in self._postings]
            if not present:
                continue
            if term in self._postings:  # a broader synonym ("plan" for "cost") counts for less
                own = self.idf(term)
                present = [(t, share * min(1.0, self.idf(t) / own)) for t, share in present]
            if len(present) == 1:
                t, share = present[0]
                slots, tf = self._postings[t]
                tf = share * tf
            else:
                postings = [(self._postings[t], share) for t, share in present]
                slots, inverse = np.unique(np.concatenate([p[0] for p, _ in postings]), return_inverse=True)
                tf = np.bincount(inverse, weights=np.concatenate([share * p[1] for p, share in postings]))
                tf = tf.astype(np.float32)
            idf = self.idf(term) if term in self._postings else max(self.idf(t) for t, _ in present)
            norm = K1 * (1 - B + B * self._length[slots] / average)
            scores[slots] += weight * idf * tf / (tf + norm)
        return scores

    def replaced(self, remove: Iterable[Hashable], add: Sequence[tuple[Hashable, Mapping[str, int]]]) -> Bm25:
        """A new index without the `remove` keys and with `add` appended in order. Slots may be
        renumbered (a full rebuild once removed documents take too much room): look them up again."""
        new = Bm25.__new__(Bm25)
        new._slot = dict(self._slot)
        new._terms = list(self._terms)
        new._postings = dict(self._postings)
        new._length = self._length.copy()
        new._total_length = self._total_length
        for key in remove:
            new._remove(key)
        dead = new.size - len(new._slot)
        if dead and dead >= COMPACT_RATIO * (new.size + len(add)):
            live = sorted(new._slot.items(), key=lambda item: item[1])
            kept = [(key, new._terms[slot]) for key, slot in live]
            return Bm25([*kept, *add])
        new._add(add)
        return new

    def _remove(self, key: Hashable) -> None:
        slot = self._slot.pop(key, None)
        if slot is None:
            return
        terms = self._terms[slot]
        self._terms[slot] = None
        self._total_length -= float(self._length[slot])
        self._length[slot] = 0
        for term in terms or ():
            slots, tf = self._postings[term]
            keep = slots != slot
            if keep.any():
                self._postings[term] = (slots[keep], tf[keep])
            else:
                del self._postings[term]

    def _add(self, documents: Sequence[tuple[Hashable, Mapping[str, int]]]) -> None:
        if not documents:
            return
        start = self.size
        grouped: dict[str, tuple[list[int], list[int]]] = {}
        lengths = []
        for offset, (key, terms) in enumerate(documents):
            slot = start + offset
            self._slot[key] = slot
            self._terms.append(terms)
            lengths.append(sum(terms.values()))
            for term, count in terms.items():
                entry = grouped.setdefault(term, ([], []))
                entry[0].append(slot)
                entry[1].append(count)
        self._length = np.concatenate([self._length, np.array(lengths, dtype=np.float32)])
        self._total_length += float(sum(lengths))
        for term, (slots, counts) in grouped.items():
            new_slots = np.array(slots, dtype=np.int32)
            new_tf = np.array(counts, dtype=np.float32)
            if term in self._postings:
                old_slots, old_tf = self._postings[term]
                new_slots, new_tf = np.concatenate([old_slots, new_slots]), np.concatenate([old_tf, new_tf])
            self._postings[term] = (new_slots, new_tf)

"""Typo correction against the help centre's own words and the words customers use.

Only non-words are corrected: a real English word the help centre never uses ("bread",
"weather") is a sign the question is off-topic, so it must stay unknown rather than become a
neighbouring word that the help centre does use ("break", "whether"). pyspellchecker's English
word frequencies tell the two apart. Surface words, not stems, because a typo often changes the
stem ("calender" vs "calendar"). Stopwords are targets too: "wiht" and "dosnt" are "with" and
"doesnt", which carry no topic, and uncorrected they would count as unknown words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache

from spellchecker import SpellChecker

MIN_TYPO_LENGTH = 4  # shorter words have too many real neighbours ("cat" vs "cart")
COMMON_ENGLISH_COUNT = 1000  # rarer dictionary entries are mostly typos ("calender", "wat")


@cache
def common_english() -> frozenset[str]:
    """English words frequent enough to be meant as written (about 19,000)."""
    frequencies = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return frozenset(word for word, count in frequencies.items() if count >= COMMON_ENGLISH_COUNT)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_swap_or_substitution(a: str, b: str) -> bool:
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(differ) == 1:
        return True
    if len(differ) != 2:
        return False
    i, j = differ
    return j == i + 1 and a[i] == b[j] and a[j] == b[i]


class Speller:
    """Corrects an unknown word to the most frequent known word one edit away.

    Known words are the corpus's (ranked by frequency) and `extra_words` (stopwords and the
    vocabulary's own words, ranked after them). A known or common English word is never changed.
    """

    def __init__(self, corpus_words: Iterable[str], extra_words: Iterable[str], stopwords: frozenset[str]):
        counts = Counter(corpus_words)
        self._rank: dict[str, int] = {}
        self._stopwords = stopwords
        self._near: dict[str, str] = {}  # a known word with one letter deleted -> that word
        self.learn(sorted(counts, key=lambda w: (-counts[w], w)) + sorted(set(extra_words) - set(counts)))

    def learn(self, words: Iterable[str]) -> None:
        """Know `words` too, ranked after every word known so far. Edits only ever add words
        (one removed from the corpus stays a harmless target), so searches in progress in
        another thread can share the speller while it learns."""
        for word in words:
            if word not in self._rank:
                self._rank[word] = len(self._rank)
                for variant in _deletions(word):
                    self._near.setdefault(variant, word)

    def correct(self, word: str) -> str:
        """Fix one missing, wrong or swapped letter in a word that is neither known nor English.

        An extra letter is never removed: that would turn words the help centre doesn't use
        into ones it does ("iphone" -> "phone") and make off-topic questions look covered.
        """
        if word in self._rank or word in common_english() or not word.isalpha():
            return word
        if len(word) < MIN_TYPO_LENGTH:  # only a stopword is a safe guess for a short word
            candidate = self._near.get(word)
            return candidate if candidate in self._stopwords else word
        if word in self._near:  # a letter is missing
            return self._near[word]
        candidates = {self._near[v] for v in _deletions(word) if v in self._near}
        for candidate in sorted(candidates, key=self._rank.__getitem__):
            # Four letters have many neighbours: "fone" could be "fine", "done" or "tone".
            if _one_swap_or_substitution(word, candidate) and (len(word) > 4 or candidate in self._stopwords):
                return candidate
        return word

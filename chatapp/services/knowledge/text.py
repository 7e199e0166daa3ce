"""Text to search terms: one normalisation for articles and questions alike.

Everything that turns text into index terms lives here, so a passage and a question that say
the same thing always produce the same terms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import Stemmer

from chatapp.services.knowledge.vocabulary import REWRITES, STEM_EXCEPTIONS, STOPWORDS, SYNONYMS

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?(?:-[a-z0-9]+)*")
_STEMMER = Stemmer.Stemmer("english")
_REWRITES = tuple(
    (re.compile(rf"\b{re.escape(phrase)}\b"), replacement) for phrase, replacement in REWRITES.items()
)


def normalise(text: str) -> str:
    """Lower case with typographic apostrophes (U+2019) made plain, as customers type both."""
    return text.lower().replace("’", "'")


def rewrite(text: str) -> str:
    """Normalise `text` and replace idioms with the help centre's vocabulary (REWRITES)."""
    text = normalise(text)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def surface_words(text: str) -> Iterator[str]:
    """Every lower-cased word, stopwords included; a hyphenated word also yields its parts and
    its joined form, so "non-profit" matches "nonprofit" and "toll-free" matches "tollfree"."""
    for match in _WORD.findall(normalise(text)):
        parts = match.split("-")
        yield from parts + (["".join(parts)] if len(parts) > 1 else [])


def words(text: str, correct: Callable[[str], str] = str) -> list[str]:
    """Surface words, each passed through `correct`, without stopwords. Contractions of
    stopwords ("we've", "don't") are stopwords too and a possessive "'s" is dropped."""
    found: list[str] = []
    for word in map(correct, surface_words(text)):
        base, _, suffix = word.partition("'")
        if word in STOPWORDS or base in STOPWORDS or len(word) < 2:
            continue
        found.append(base if suffix == "s" else base + suffix)
    return found


def stem(words_: list[str]) -> list[str]:
    """Snowball stems, except for the words whose stem would collide with an unrelated word."""
    stems = _STEMMER.stemWords(words_)
    if STEM_EXCEPTIONS.keys().isdisjoint(words_):
        return stems
    return [STEM_EXCEPTIONS.get(w) or s for w, s in zip(words_, stems, strict=True)]


def tokenize(text: str) -> list[str]:
    """Stemmed content tokens: the single tokenizer for passages and queries alike."""
    return stem(words(text))


def _stem_synonyms(raw: dict[str, str]) -> dict[str, tuple[str, ...]]:
    stemmed: dict[str, set[str]] = {}
    for key, values in raw.items():
        (key_stem,) = tokenize(key) or (key,)
        stemmed.setdefault(key_stem, set()).update(t for t in tokenize(values) if t != key_stem)
    return {key: tuple(sorted(values)) for key, values in stemmed.items()}


SYNONYM_STEMS = _stem_synonyms(SYNONYMS)  # stemmed term -> stemmed terms that express it
# Words the support team's lists know: never "corrected", and targets for correcting typos.
VOCABULARY_WORDS = frozenset(STOPWORDS) | {
    word
    for phrase in [*SYNONYMS, *SYNONYMS.values(), *REWRITES, *REWRITES.values()]
    for word in surface_words(phrase)
}

"""Help-centre knowledge base: Markdown articles, passage-level BM25 retrieval and a built-in responder.

Domain layer only (no UI imports), so the chat state, the /help page, the eval script and the
tests all share one retrieval behaviour.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
import yaml
from bm25s.stopwords import STOPWORDS_EN_PLUS

log = logging.getLogger(__name__)

SUPPORT_EMAIL = "support@ellavox.example"
DECLINE_TEXT = (
    "Sorry, the Ellavox help centre doesn't cover that, so I can't give you a reliable answer. "
    "You could try rephrasing the question with the feature or setting you mean, or contact our "
    f"support team at {SUPPORT_EMAIL} and a person will help."
)

# --- Tuning knobs (chosen on bench/kb_questions.json; see `Retrieval` for the threshold) -------
HISTORY_WEIGHT = 0.35  # earlier user turns steer follow-ups but never outweigh the question
HISTORY_TURNS = 2
SYNONYM_WEIGHT = 0.5  # a term's synonyms share half the weight of the user's own word
TITLE_REPEAT = 2  # title and heading words are indexed this many times: they summarise the text
ARTICLE_WEIGHT = 0.5  # share of the whole-article score added to each of its passages
COVERAGE_THRESHOLD = 0.5
PASSAGE_WORDS = 170  # sections longer than this are split into block groups of about this size
MIN_TYPO_LENGTH = 6  # shorter words have too many real neighbours ("watch" vs "match")
ANSWER_BUDGET = 900  # characters of the built-in answer

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING = re.compile(r"^##[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?(?:-[a-z0-9]+)*")


# --- Data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    category: str
    updated: str
    body: str  # Markdown without the front matter


@dataclass(frozen=True)
class Passage:
    id: str  # f"{slug}#{n}": stable while the file's sections don't change
    slug: str
    title: str
    heading: str
    text: str


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


@dataclass(frozen=True)
class Retrieval:
    """Best passages for a question and whether they are trustworthy enough to answer from.

    `covered` uses *query coverage*: the share of the query's information (IDF-weighted, question
    terms at full weight, recent-turn terms at HISTORY_WEIGHT) that the best passage's article
    contains, where a term also counts when one of its synonyms is present, and where a word
    the help centre never uses carries the maximum IDF. Raw BM25 scores grow with query length
    and can't be compared across questions; coverage is in [0, 1] and reads directly as "how
    much of what was asked do we have text for". Off-topic questions ("best lasagne recipe")
    are dominated by words the corpus never uses, so they score low even when a stray
    in-domain word matches. COVERAGE_THRESHOLD sits between the two populations on the eval set.
    """

    hits: tuple[Hit, ...]
    covered: bool
    coverage: float = 0.0
    terms: tuple[str, ...] = ()  # the question's stemmed, spelling-fixed terms

    @property
    def cited_slugs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.passage.slug for hit in self.hits))


# --- Text processing -------------------------------------------------------------------------

_STEMMER = Stemmer.Stemmer("english")
# NLTK's English list plus words that carry no topic in support chat ("hey, can u help pls").
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {
    "also", "anyway", "actually", "could", "would", "get", "got", "getting", "want", "wanna",
    "need", "needs", "hi", "hey", "hello", "please", "pls", "plz", "thanks", "thank", "thx",
    "ok", "okay", "u", "ur", "else", "per", "much", "many", "lot", "lots", "btw", "stuff",
    "im", "ive", "dont", "cant", "wont", "doesnt", "isnt", "lol", "hmm", "help", "know", "tell",
    "guys", "someone", "something", "thing", "things", "way", "like", "really", "still", "even",
    "one", "us", "let", "possible", "anymore", "ellavox", "yes", "yeah", "whether", "etc", "eg",
    "ie",
}

# Everyday words customers use for things the articles name differently, grouped by topic.
# Values are extra query terms that share SYNONYM_WEIGHT; keys and values are stemmed at import
# (one key per stem: "rings" and "ringing" are covered by "ring").
_SYNONYMS_RAW: dict[str, str] = {
    # plans, billing
    "cost": "price fee plan",
    "price": "plan fee",
    "expensive": "price plan",
    "cheap": "price plan",
    "tier": "plan",
    "package": "plan",
    "upgrade": "change plan prorated",
    "downgrade": "change plan",
    "halfway": "prorated",
    "spend": "cap overage",
    "charge": "invoice payment billing",
    "bill": "invoice billing",
    "receipt": "invoice",
    "bounced": "failed declined",
    "card": "payment",
    "money": "refund payment",
    "charity": "nonprofit discount",
    "unsubscribe": "cancel subscription",
    "quit": "cancel subscription",
    # account, team, security
    "login": "sign password",
    "signin": "sign",
    "forgot": "reset password",
    "2fa": "two-factor authentication",
    "mfa": "two-factor authentication",
    "otp": "two-factor authentication code",
    "authenticator": "two-factor",
    "okta": "sso saml",
    "sso": "single sign-on saml",
    "force": "require enforce",
    "mandatory": "require enforce",
    "colleague": "team member invite",
    "coworker": "team member invite",
    "staff": "team member",
    "employee": "team member",
    "seat": "member",
    "user": "member",
    "undo": "restore recovery",
    "recover": "recovery restore",
    "restore": "recovery",
    # data and privacy
    "delete": "erasure deletion",
    "erase": "erasure deletion",
    "forget": "erasure",
    "wipe": "erasure deletion",
    "download": "export",
    "backup": "export",
    "secure": "encryption security",
    "safe": "encryption security",
    "europe": "eu european region",
    "host": "region stored",
    "store": "retention",
    # the agent and calls
    "ai": "agent",
    "assistant": "agent",
    "people": "caller",
    "customer": "caller",
    "human": "person transfer",
    "person": "human transfer",
    "pick": "answer",
    "ring": "answer",
    "open": "hours schedule",
    "closed": "hours schedule",
    "weekend": "hours schedule",
    "holiday": "closure schedule",
    "vacation": "closure holiday",
    "forward": "transfer forwarding",
    "route": "routing transfer",
    "voicemail": "message",
    "text": "sms",
    "sms": "text",
    "accent": "voice language",
    "pronounce": "pronunciation",
    "mispronounce": "pronunciation",
    "mishear": "misunderstand",
    "misunderstand": "mishear",
    "understand": "misunderstand",
    "confused": "misunderstand",
    "choppy": "audio quality",
    "robotic": "audio quality",
    "lag": "latency delay audio",
    "laggy": "latency delay audio",
    "echo": "audio",
    "sound": "audio",
    "simultaneous": "concurrent",
    "parallel": "concurrent",
    "calendar": "appointment booking",
    "appointment": "booking calendar",
    "book": "booking appointment",
    "faq": "knowledge",
    "teach": "knowledge",
    "train": "knowledge",
    # integrations and API
    "crm": "hubspot salesforce zoho",
    "sfdc": "salesforce",
    "carrier": "port provider",
    "callback": "webhook",
    "endpoint": "webhook",
    "hmac": "signature",
    "check": "verify",
    "genuine": "verify signature",
    "fake": "verify signature",
    "spoofed": "verify signature",
    "throttle": "rate limit",
    "429": "rate limit",
}


# Idioms and slang rewritten to the help centre's words before tokenizing (full weight, unlike
# synonyms), because their own words mislead: "switch off" is about turning a setting off, not
# about switching plans, and "picks up" means answering.
_REWRITES_RAW: dict[str, str] = {
    "can't remember": "forgot",
    "cannot remember": "forgot",
    "don't remember": "forgot",
    "at the same time": "simultaneous concurrent",
    "at once": "simultaneous concurrent",
    "log in": "sign in",
    "log into": "sign in",
    "logged in": "signed in",
    "logged out": "signed out",
    "kicked out": "signed out",
    "hand over": "transfer",
    "handoff": "transfer",
    "go up to": "upgrade to",
    "move up to": "upgrade to",
    "carry over": "roll over",
    "go over": "exceed overage",
    "went over": "exceed overage",
    "going over": "exceed overage",
    "pick up": "answer",
    "picks up": "answers",
    "picking up": "answering",
    "talk over": "talk over interrupt",
    "talks over": "talks over interrupt",
    "cuts off": "cuts off interrupt",
    "real person": "human person",
    "live person": "human person",
    "account on hold": "paused account",
    "subscription on hold": "paused subscription",
    "plan on hold": "paused plan",
    "money back": "refund",
    "get rid of": "delete",
    "switch off": "turn off",
    "shut off": "turn off",
    "brought back": "restored",
    "bring back": "restore",
    "bot": "agent",
    "dump": "export",
}
_REWRITES = tuple(
    (re.compile(rf"\b{re.escape(phrase)}\b"), replacement) for phrase, replacement in _REWRITES_RAW.items()
)


def rewrite(text: str) -> str:
    """Lower-case `text` and replace idioms with the help centre's vocabulary (_REWRITES_RAW)."""
    text = text.lower().replace("’", "'")
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def _words(text: str) -> list[str]:
    """Lower-cased words without stopwords. Contractions of stopwords ("we've", "don't") are
    stopwords too and a possessive "'s" is dropped; a hyphenated word also yields its joined
    form, so "non-profit" matches "nonprofit" and "toll-free" matches "tollfree"."""
    words: list[str] = []
    for match in _WORD.findall(text.lower().replace("’", "'")):
        parts = match.split("-")
        for word in parts + (["".join(parts)] if len(parts) > 1 else []):
            base, _, suffix = word.partition("'")
            if word in _STOPWORDS or base in _STOPWORDS or len(word) < 2:
                continue
            words.append(base if suffix == "s" else base + suffix)
    return words


def tokenize(text: str) -> list[str]:
    """Stemmed content tokens: the single tokenizer for passages and queries alike."""
    return _STEMMER.stemWords(_words(text))


def _stem_synonyms(raw: dict[str, str]) -> dict[str, tuple[str, ...]]:
    stemmed: dict[str, set[str]] = {}
    for key, values in raw.items():
        (key_stem,) = tokenize(key) or (key,)
        stemmed.setdefault(key_stem, set()).update(t for t in tokenize(values) if t != key_stem)
    return {key: tuple(sorted(values)) for key, values in stemmed.items()}


_SYNONYMS = _stem_synonyms(_SYNONYMS_RAW)


def _deletions(token: str) -> set[str]:
    return {token[:i] + token[i + 1 :] for i in range(len(token))}


# --- Loading ---------------------------------------------------------------------------------


def parse_article(text: str) -> Article:
    """Parse one Markdown file; raises ValueError saying what is wrong, so the loader can log it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ValueError("no front matter (the file must start with a '---' block)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError("invalid front matter: expected 'key: value' lines")
    title = str(meta.get("title") or "").strip()
    slug = str(meta.get("slug") or "").strip()
    if not title:
        raise ValueError("front matter has no title")
    if not _SLUG.match(slug):
        raise ValueError(f"front matter slug {slug!r} is missing or not lowercase-hyphenated")
    return Article(
        slug=slug,
        title=title,
        category=str(meta.get("category") or "General").strip(),
        updated=str(meta.get("updated") or "").strip(),
        body=text[match.end() :].strip(),
    )


def split_passages(article: Article) -> list[Passage]:
    """One passage per `##` section (the intro is "Overview"); long sections are split into
    groups of whole blocks (paragraphs, lists, code) of about PASSAGE_WORDS words, so each
    passage stays focused enough to rank and to quote."""
    sections: list[tuple[str, str]] = []
    starts = list(_HEADING.finditer(article.body))
    intro = article.body[: starts[0].start()] if starts else article.body
    if intro.strip():
        sections.append(("Overview", intro))
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(article.body)
        sections.append((match.group(1), article.body[match.end() : end]))

    passages: list[Passage] = []
    for heading, text in sections:
        for chunk in _chunk_blocks(_blocks(text)):
            passages.append(
                Passage(f"{article.slug}#{len(passages)}", article.slug, article.title, heading, chunk)
            )
    return passages


def _blocks(text: str) -> list[str]:
    """Blank-line separated blocks, keeping fenced code blocks whole."""
    blocks: list[str] = []
    current: list[str] = []
    in_code = False
    for line in text.strip().splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        if not line.strip() and not in_code:
            if current:
                blocks.append("\n".join(current))
                current = []
        else:
            current.append(line.rstrip())
    if current:
        blocks.append("\n".join(current))
    return blocks


def _chunk_blocks(blocks: list[str]) -> list[str]:
    chunks: list[list[str]] = [[]]
    words = 0
    for block in blocks:
        size = len(block.split())
        if chunks[-1] and words + size > PASSAGE_WORDS:
            chunks.append([])
            words = 0
        chunks[-1].append(block)
        words += size
    return ["\n\n".join(chunk) for chunk in chunks if chunk]


def folder_fingerprint(directory: str | Path) -> str:
    """Hash of the Markdown files' names, mtimes and sizes: cheap to compute on every request."""
    digest = hashlib.sha256()
    for path in sorted(Path(directory).glob("*.md")):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.name}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    return digest.hexdigest()


# --- Knowledge base --------------------------------------------------------------------------


class KnowledgeBase:
    """Articles plus a passage index built once at load; searches are read-only and thread-safe."""

    def __init__(
        self, articles: Iterable[Article], directory: Path | None = None, fingerprint: str = ""
    ) -> None:
        self.articles: tuple[Article, ...] = tuple(
            sorted(articles, key=lambda a: (a.category.lower(), a.title.lower()))
        )
        self.directory = directory
        self._fingerprint = fingerprint
        self._by_slug = {article.slug: article for article in self.articles}
        self.passages: tuple[Passage, ...] = tuple(p for a in self.articles for p in split_passages(a))
        self._by_id = {passage.id: passage for passage in self.passages}
        self._build_index()

    @classmethod
    def load(cls, directory: str | Path) -> KnowledgeBase:
        """Load every `*.md` in `directory`; a bad file is logged and skipped, never fatal."""
        directory = Path(directory)
        if not directory.is_dir():
            log.warning("Knowledge folder %s does not exist; the help centre is empty", directory)
        fingerprint = folder_fingerprint(directory)  # before reading: an edit mid-load reloads later
        articles: dict[str, Article] = {}
        for path in sorted(directory.glob("*.md")):
            try:
                article = parse_article(path.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                log.warning("Skipping knowledge file %s: %s", path, exc)
                continue
            if article.slug in articles:
                log.warning("Skipping knowledge file %s: duplicate slug %r", path, article.slug)
                continue
            articles[article.slug] = article
        return cls(articles.values(), directory, fingerprint)

    def fingerprint(self) -> str:
        """`folder_fingerprint` of the folder as it was when this knowledge base was loaded."""
        return self._fingerprint

    def article(self, slug: str) -> Article | None:
        return self._by_slug.get(slug)

    def passage(self, passage_id: str) -> Passage | None:
        return self._by_id.get(passage_id)

    # Index -----------------------------------------------------------------------------------

    def _build_index(self) -> None:
        passage_tokens = [
            tokenize(" ".join([p.title, p.heading] * TITLE_REPEAT + [p.text])) for p in self.passages
        ]
        self._article_tokens: dict[str, set[str]] = {}
        for passage, tokens in zip(self.passages, passage_tokens, strict=True):
            self._article_tokens.setdefault(passage.slug, set()).update(tokens)
        slugs = list(self._article_tokens)
        self._passage_article = np.array([slugs.index(p.slug) for p in self.passages], dtype=np.int32)
        self._passage_index = _Index(passage_tokens)
        self._article_index = _Index(
            [tokenize(" ".join([a.title] * TITLE_REPEAT + [a.body])) for a in map(self.article, slugs)]
        )
        df: dict[str, int] = {}
        for tokens in passage_tokens:
            for token in set(tokens):
                df[token] = df.get(token, 0) + 1
        n = max(len(passage_tokens), 1)
        self._idf = {t: float(np.log(1 + (n - f + 0.5) / (f + 0.5))) for t, f in df.items()}
        self._idf_unknown = float(np.log(1 + (n + 0.5) / 0.5))
        # Spelling fixes work on surface words ("calender" and "calendar" stem differently).
        counts: dict[str, int] = {}
        for passage in self.passages:
            for word in _words(f"{passage.title} {passage.heading} {passage.text}"):
                counts[word] = counts.get(word, 0) + 1
        self._near: dict[str, str] = {}
        for word in sorted(counts, key=lambda w: (-counts[w], w)):
            if len(word) >= MIN_TYPO_LENGTH:
                for variant in _deletions(word) | {word}:
                    self._near.setdefault(variant, word)

    def _correct(self, word: str) -> str:
        """Fix one missing, wrong or swapped letter in an unknown word of MIN_TYPO_LENGTH+ letters.

        An extra letter is never removed: that would turn real words the help centre doesn't
        use into ones it does ("iphone" -> "phone") and make off-topic questions look covered.
        """
        if len(word) < MIN_TYPO_LENGTH or self._near.get(word) == word:
            return word
        if word in self._near:  # a letter is missing
            return self._near[word]
        for variant in sorted(_deletions(word)):  # a letter is wrong or two are swapped
            candidate = self._near.get(variant)
            if candidate and len(candidate) == len(word):
                return candidate
        return word

    def _tokens(self, text: str) -> list[str]:
        """Query tokens: idioms rewritten, spelling fixed, stemmed; unique, in order."""
        words = [self._correct(w) for w in _words(rewrite(text))]
        return list(dict.fromkeys(_STEMMER.stemWords(words)))

    # Search ----------------------------------------------------------------------------------

    def _query(self, question: str, recent_turns: Sequence[str]) -> _Query:
        terms = self._tokens(question)
        history = self._tokens(" ".join(list(recent_turns)[-HISTORY_TURNS:]))
        return _Query(
            tuple(terms),
            tuple(t for t in history if t not in terms),
            {t: _SYNONYMS[t] for t in terms if t in _SYNONYMS},
        )

    def _rank(self, query: _Query) -> np.ndarray:
        """Weighted sum of passage scores plus ARTICLE_WEIGHT times the passage's whole-article
        score: customers' words are often spread over an article's sections, and the article
        score keeps a stray matching section of another article from winning."""
        scores = np.zeros(len(self.passages), dtype=np.float32)
        for weight, tokens in query.weighted():
            article_scores = self._article_index.scores(tokens)[self._passage_article]
            scores += weight * (self._passage_index.scores(tokens) + ARTICLE_WEIGHT * article_scores)
        return scores

    def _coverage(self, query: _Query, slug: str) -> float:
        """IDF-weighted share of the query found in article `slug` (see `Retrieval`)."""
        present = self._article_tokens.get(slug, set())
        found = total = 0.0
        for weight, terms in ((1.0, query.terms), (HISTORY_WEIGHT, query.history)):
            for term in terms:
                idf = weight * self._idf.get(term, self._idf_unknown)
                total += idf
                if term in present or not present.isdisjoint(query.synonyms.get(term, ())):
                    found += idf
        return found / total if total else 0.0

    def search(self, question: str, recent_turns: Sequence[str] = (), k: int = 3) -> Retrieval:
        """Top-k passages for `question`, with earlier user turns as lower-weight context."""
        query = self._query(question, recent_turns)
        if not self.passages or not (query.terms or query.history):
            return Retrieval(hits=(), covered=False)
        scores = self._rank(query)
        hits = tuple(Hit(self.passages[i], float(scores[i])) for i in _top_indices(scores, k))
        if not hits:
            return Retrieval(hits=(), covered=False)
        coverage = self._coverage(query, hits[0].passage.slug)
        return Retrieval(hits, coverage >= COVERAGE_THRESHOLD, coverage, query.terms)

    def search_articles(self, query: str, limit: int = 20) -> list[Article]:
        """Articles for the help-page search box, best passage first; empty query lists all."""
        if not query.strip():
            return list(self.articles[:limit])
        parsed = self._query(query, ())
        if not self.passages or not parsed.terms:
            return []
        scores = self._rank(parsed)
        slugs = dict.fromkeys(self.passages[i].slug for i in _top_indices(scores, len(scores)))
        return [self._by_slug[slug] for slug in list(slugs)[:limit]]


class _Index:
    """A bm25s index over pre-tokenized documents, queried with stemmed tokens."""

    def __init__(self, documents: list[list[str]]) -> None:
        self._size = len(documents)
        self._bm25 = bm25s.BM25()
        if documents:
            self._bm25.index(documents, show_progress=False)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        vocab = getattr(self._bm25, "vocab_dict", {})
        ids = [vocab[t] for t in tokens if t in vocab]
        if not ids:
            return np.zeros(self._size, dtype=np.float32)
        return self._bm25.get_scores_from_ids(ids)


@dataclass(frozen=True)
class _Query:
    terms: tuple[str, ...]
    history: tuple[str, ...]
    synonyms: dict[str, tuple[str, ...]]  # question term -> other terms that express it

    def weighted(self) -> list[tuple[float, list[str]]]:
        """Token groups by weight: question 1, history HISTORY_WEIGHT, and each term's synonyms
        sharing SYNONYM_WEIGHT, so a word with many synonyms can't outweigh the question."""
        weights = {t: HISTORY_WEIGHT for t in self.history}
        for synonyms in self.synonyms.values():
            for synonym in synonyms:
                if synonym not in self.terms:
                    weights[synonym] = max(weights.get(synonym, 0.0), SYNONYM_WEIGHT / len(synonyms))
        weights.update(dict.fromkeys(self.terms, 1.0))
        groups: dict[float, list[str]] = {}
        for token, weight in weights.items():
            groups.setdefault(weight, []).append(token)
        return sorted(groups.items(), reverse=True)


def _top_indices(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the k best positive scores, best first (ties keep corpus order)."""
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(i) for i in order if scores[i] > 0]


def cited_articles(kb: KnowledgeBase, passage_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(slug, title) of each article a message cited, first citation first, once each.

    Goes by slug, not passage id, so a citation survives edits that renumber an article's
    passages; an article that has since been removed is left out rather than linked to a 404.
    """
    slugs = dict.fromkeys(passage_id.split("#")[0] for passage_id in passage_ids)
    return [(slug, article.title) for slug in slugs if (article := kb.article(slug))]


def load_if_changed(kb: KnowledgeBase | None, directory: str | Path) -> KnowledgeBase:
    """Reuse `kb` unless the folder's files changed (or it was loaded from another folder)."""
    directory = Path(directory)
    if kb is not None and kb.directory == directory and kb.fingerprint() == folder_fingerprint(directory):
        return kb
    return KnowledgeBase.load(directory)


# --- Small talk ------------------------------------------------------------------------------

# (phrases, reply), checked in this order: "thanks, bye" gets the goodbye.
_SMALL_TALK: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "who are you", "what are you", "what can you do", "what do you do", "how can you help",
            "how can you help me", "are you a bot", "are you a robot", "are you human",
            "are you a human", "are you real", "are you a real person", "are you an ai",
            "what is this", "help", "help me", "can you help", "can you help me", "i need help",
        ),
        "I'm the Ellavox help assistant. I answer questions about your Ellavox account, billing, "
        "setup, integrations, troubleshooting and security using our help-centre articles. "
        "What would you like to know?",
    ),
    (
        ("bye", "goodbye", "good bye", "bye bye", "see you", "see ya", "take care", "later",
         "have a good day", "have a nice day", "have a great day", "that's all", "that's it"),
        "Goodbye! If anything else comes up with Ellavox, just ask here.",
    ),
    (
        ("thanks", "thank you", "thx", "ty", "cheers", "much appreciated", "appreciate it",
         "that helps", "that helped", "that's helpful", "perfect", "great", "awesome", "cool",
         "got it", "ok", "okay"),
        "You're welcome! Is there anything else I can help you with?",
    ),
    (
        ("hi", "hello", "hey", "hiya", "howdy", "yo", "greetings", "good morning",
         "good afternoon", "good evening", "morning", "how are you", "how's it going",
         "how are you doing"),
        "Hi! I'm the Ellavox help assistant. Ask me anything about setting up your AI receptionist, "
        "billing, integrations or troubleshooting.",
    ),
)
_FILLERS = ("there", "team", "all", "so much", "a lot", "again", "very much", "guys", "folks",
            "you", "lol", "then", "bot", "and", "oh")


def _phrases_pattern(phrases: Iterable[str]) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


_SMALL_TALK_WORDS = _phrases_pattern([p for phrases, _ in _SMALL_TALK for p in phrases] + list(_FILLERS))
_ANY_SMALL_TALK = re.compile(rf"(?:\b(?:{_SMALL_TALK_WORDS})\b\s*)+")


def small_talk_reply(text: str) -> str | None:
    """A canned reply when the whole message is pleasantries; None when it asks anything real."""
    normalized = re.sub(r"\s+", " ", re.sub(r"[^a-z' ]", " ", text.lower().replace("’", "'"))).strip()
    if not normalized or not _ANY_SMALL_TALK.fullmatch(normalized + " "):
        return None
    for phrases, reply in _SMALL_TALK:
        if re.search(rf"\b(?:{_phrases_pattern(phrases)})\b", normalized):
            return reply
    return None


# --- Built-in responder ----------------------------------------------------------------------

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*`])")
SECOND_PASSAGE_RATIO = 0.8  # quote a passage of another article only if it scored close to the best
MIN_EXTRA_CHARS = 200  # don't squeeze a second passage into less room than this
SHORT_PARAGRAPH = 400  # paragraphs up to this many characters are quoted whole, for coherence


@dataclass(frozen=True)
class _Unit:
    """The smallest quotable piece: a sentence, a bullet, a whole numbered list or a code block."""

    block: int
    position: int
    text: str
    kind: str  # "sentence" | "item" | "steps" | "code"


def _units(text: str, budget: int) -> list[_Unit]:
    units: list[_Unit] = []
    for b, block in enumerate(_blocks(text)):
        lines = block.splitlines()
        if block.startswith("```"):
            pieces, kind = [block], "code"
        elif _LIST_ITEM.match(lines[0]):
            items: list[str] = []
            for line in lines:
                if _LIST_ITEM.match(line) or not items:
                    items.append(line.strip())
                else:
                    items[-1] += " " + line.strip()
            whole_steps = _NUMBERED.match(lines[0]) and len(block) <= budget
            pieces, kind = ([("\n".join(items))], "steps") if whole_steps else (items, "item")
        else:
            paragraph = " ".join(line.strip() for line in lines)
            pieces = [paragraph] if len(paragraph) <= SHORT_PARAGRAPH else _SENTENCE_BREAK.split(paragraph)
            kind = "sentence"
        units.extend([_Unit(b, len(units) + i, piece, kind) for i, piece in enumerate(pieces)])
    return units


def _relevance(unit: _Unit, terms: set[str], expansions: set[str]) -> float:
    tokens = set(tokenize(unit.text))
    return len(tokens & terms) + SYNONYM_WEIGHT * len(tokens & expansions)


def _select(passage: Passage, terms: set[str], expansions: set[str], budget: int, lead: bool) -> list[_Unit]:
    """The most relevant units that fit the budget (plus, if `lead`, the passage's opening line
    for context), in reading order so steps and explanations keep their sequence."""
    units = _units(passage.text, budget)
    # The best passage may contribute anything relevant; a further one only units that share
    # at least two of the question's terms (or its only term), so it adds substance, not noise.
    min_score = SYNONYM_WEIGHT if lead else min(2, len(terms))
    scored = sorted(
        ((_relevance(u, terms, expansions), u) for u in units), key=lambda su: (-su[0], su[1].position)
    )
    chosen: list[_Unit] = []
    used = 0
    for score, unit in scored:
        if score >= min_score and used + len(unit.text) <= budget:
            chosen.append(unit)
            used += len(unit.text) + 1
    if lead and units and units[0] not in chosen and used + len(units[0].text) <= budget:
        chosen.append(units[0])
    positions = {u.position for u in chosen}
    # A line introducing something ("To verify it:") is useless without what follows it.
    return sorted(
        (u for u in chosen if not u.text.endswith(":") or u.position + 1 in positions),
        key=lambda u: u.position,
    )


def _render(units: list[_Unit]) -> str:
    blocks: list[str] = []
    previous: _Unit | None = None
    for unit in units:
        if previous and previous.block == unit.block and unit.kind == "sentence":
            blocks[-1] += " " + unit.text
        elif previous and previous.block == unit.block and unit.kind == "item":
            blocks[-1] += "\n" + unit.text
        else:
            blocks.append(unit.text)
        previous = unit
    return "\n\n".join(blocks)


def _heading(passage: Passage) -> str:
    name = passage.title if passage.heading == "Overview" else f"{passage.title}: {passage.heading}"
    return f"**{name}**\n\n"


def compose_answer(question: str, retrieval: Retrieval) -> str:
    """A short Markdown answer quoted from the best passages (used when no LLM is configured).

    Picks the sentences, bullets and step lists that share the most words with the question
    instead of pasting whole sections, and adds one more passage only when it is from the same
    article or scored nearly as well. Sources are shown by the UI, so none are listed here.
    """
    if not retrieval.covered or not retrieval.hits:
        return DECLINE_TEXT
    terms = set(retrieval.terms) or set(tokenize(rewrite(question)))
    expansions = {s for t in terms for s in _SYNONYMS.get(t, ())} - terms
    best, *others = retrieval.hits
    answer = _heading(best.passage)
    answer += _render(_select(best.passage, terms, expansions, ANSWER_BUDGET - len(answer), lead=True))
    for hit in others:
        related = hit.passage.slug == best.passage.slug or hit.score >= SECOND_PASSAGE_RATIO * best.score
        heading = _heading(hit.passage)
        budget = ANSWER_BUDGET - len(answer) - len(heading)
        if not related or hit.passage.heading == "Overview" or budget < MIN_EXTRA_CHARS:
            continue
        units = _select(hit.passage, terms, expansions, budget, lead=False)
        if units:
            return f"{answer}\n\n{heading}{_render(units)}"
    return answer

"""The built-in responder's answer: quoted from the best passages, or a polite decline.

Used when no LLM is configured, so it quotes rather than paraphrases: every sentence it shows
is one the help centre wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatapp.services.knowledge.passages import OVERVIEW, Passage, blocks
from chatapp.services.knowledge.query import SYNONYM_WEIGHT
from chatapp.services.knowledge.retrieval import Retrieval
from chatapp.services.knowledge.text import SYNONYM_STEMS, rewrite, tokenize

SUPPORT_EMAIL = "support@ellavox.example"
DECLINE_TEXT = (
    "Sorry, the Ellavox help centre doesn't cover that, so I can't give you a reliable answer. "
    "You could try rephrasing the question with the feature or setting you mean, or talk to a "
    "person from our support team: they will answer right here in this conversation."
)

ANSWER_BUDGET = 900  # characters of the built-in answer
SECOND_PASSAGE_RATIO = 0.8  # quote a passage of another article only if it scored close to the best
MIN_EXTRA_CHARS = 200  # don't squeeze a second passage into less room than this
SHORT_PARAGRAPH = 400  # paragraphs up to this many characters are quoted whole, for coherence

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*`])")


@dataclass(frozen=True)
class _Unit:
    """The smallest quotable piece: a sentence, a bullet, a whole numbered list or a code block."""

    block: int
    position: int
    text: str
    kind: str  # "sentence" | "item" | "steps" | "code"


def _units(text: str, budget: int) -> list[_Unit]:
    units: list[_Unit] = []
    for b, block in enumerate(blocks(text)):
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
    rendered: list[str] = []
    previous: _Unit | None = None
    for unit in units:
        if previous and previous.block == unit.block and unit.kind == "sentence":
            rendered[-1] += " " + unit.text
        elif previous and previous.block == unit.block and unit.kind == "item":
            rendered[-1] += "\n" + unit.text
        else:
            rendered.append(unit.text)
        previous = unit
    return "\n\n".join(rendered)


def _heading(passage: Passage) -> str:
    name = passage.title if passage.heading == OVERVIEW else f"{passage.title}: {passage.heading}"
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
    expansions = {s for t in terms for s in SYNONYM_STEMS.get(t, ())} - terms
    best, *others = retrieval.hits
    answer = _heading(best.passage)
    answer += _render(_select(best.passage, terms, expansions, ANSWER_BUDGET - len(answer), lead=True))
    for hit in others:
        same_article = hit.passage.article_id == best.passage.article_id
        related = same_article or hit.score >= SECOND_PASSAGE_RATIO * best.score
        heading = _heading(hit.passage)
        budget = ANSWER_BUDGET - len(answer) - len(heading)
        if not related or hit.passage.heading == OVERVIEW or budget < MIN_EXTRA_CHARS:
            continue
        units = _select(hit.passage, terms, expansions, budget, lead=False)
        if units:
            return f"{answer}\n\n{heading}{_render(units)}"
    return answer

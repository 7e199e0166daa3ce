"""Canned replies to pleasantries, so "thanks, bye" gets a goodbye instead of a search."""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatapp.services.knowledge.text import normalise

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
    normalized = re.sub(r"\s+", " ", re.sub(r"[^a-z' ]", " ", normalise(text))).strip()
    if not normalized or not _ANY_SMALL_TALK.fullmatch(normalized + " "):
        return None
    for phrases, reply in _SMALL_TALK:
        if re.search(rf"\b(?:{_phrases_pattern(phrases)})\b", normalized):
            return reply
    return None

"""Grouping the questions nothing answered into topics (services/gaps.py): real gap questions
about the sample help centre, exact groupings, the draft an agent starts an article from, and
the clustering itself against a brute-force average linkage."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from chatapp.services import gaps
from chatapp.services.gaps import DECLINED, THUMBS_DOWN, GapQuestion, _agglomerate, group_questions
from chatapp.services.knowledge import KnowledgeBase
from chatapp.services.knowledge.safety import problems

KB = KnowledgeBase.load(Path(__file__).resolve().parents[2] / "knowledge")

WHATSAPP = ["Do you integrate with WhatsApp?", "Can callers message us on WhatsApp instead of calling?",
            "is there whatsapp support", "WhatsApp Business integration?"]
FAX = ["can ellavox send and receive faxes", "do you support fax", "can I get a fax number"]
PIPEDRIVE = ["Do you integrate with Pipedrive?", "connect ellavox to pipedrive",
             "can calls be logged in Pipedrive"]
MOBILE = ["Is there a mobile app?", "mobile app for iOS?", "can I use Ellavox from my phone with an app"]
OFF_TOPIC = ["give me a good recipe for banana bread", "what's the weather like in Chicago tomorrow?",
             "write me a short poem about the sea", "how tall is the Eiffel tower"]
FAMILIES = {"whatsapp": WHATSAPP, "fax": FAX, "pipedrive": PIPEDRIVE, "mobile": MOBILE}


def asked(*texts: str, kind: str = DECLINED) -> list[GapQuestion]:
    return [GapQuestion(text, kind, chat_id=f"c{i}") for i, text in enumerate(texts)]


def test_questions_about_one_missing_feature_are_one_topic_and_unrelated_ones_stay_apart():
    questions = asked(*WHATSAPP, *FAX, *PIPEDRIVE, *MOBILE, *OFF_TOPIC)
    topics = group_questions(questions, KB)
    groups = sorted(sorted(t.examples) for t in topics)
    assert groups == sorted([*(sorted(f) for f in FAMILIES.values()), *([q] for q in OFF_TOPIC)])
    by_label = {t.label: t for t in topics}
    assert set(by_label) >= {"WhatsApp", "fax", "Pipedrive", "app · mobile"}
    assert [t.count for t in topics] == [4, 3, 3, 3, 1, 1, 1, 1]  # the biggest first


def test_the_help_centre_s_own_words_weigh_less_than_the_ones_it_lacks():
    # "calls" and "agent" are everywhere in the articles; "WhatsApp" and "fax" nowhere
    weights = gaps.Weights(KB)
    assert weights("whatsapp", "whatsapp") > 4 * weights("call", "call")
    assert weights("fax", "fax") > 3 * weights("agent", "agent")
    assert weights("recip", "recipe") > 2 * weights("good", "good")  # common English says little
    both = asked("can the agent answer calls on WhatsApp", "can the agent answer faxes")
    assert len(group_questions(both, KB)) == 2


def test_repeats_count_once_as_examples_and_every_time_in_the_count():
    questions = asked("Do you integrate with WhatsApp?", "do you integrate with whatsapp", "WhatsApp?",
                      "Do you integrate with WhatsApp?")
    (topic,) = group_questions(questions, KB)
    assert topic.count == 4 and topic.declined == 4 and topic.thumbs_down == 0
    assert topic.examples == ("Do you integrate with WhatsApp?", "WhatsApp?")
    assert topic.title == "Do you integrate with WhatsApp?"  # the most asked of 3 words or more
    assert topic.chat_ids == ("c0", "c2")


def test_thumbs_down_questions_join_declined_ones_with_their_reasons():
    questions = [*asked("is there a fax number"),
                 GapQuestion("how do I send a fax", THUMBS_DOWN, reasons=("unanswered",)),
                 GapQuestion("fax to email", THUMBS_DOWN, reasons=("unanswered", "other"))]
    (topic,) = group_questions(questions, KB)
    assert (topic.count, topic.declined, topic.thumbs_down) == (3, 1, 2)
    assert topic.reasons == {"unanswered": 2, "other": 1}
    assert topic.body.startswith("Customers asked about this 3 times (1 the assistant could not answer "
                                 "and 2 whose answers customers marked not helpful).")


def test_questions_without_content_words_are_left_out():
    assert group_questions(asked("??", "hi", "ok thanks")) == []
    assert [t.examples for t in group_questions(asked("??", "fax please"), KB)] == [("fax please",)]


def test_the_draft_is_safe_markdown_that_shows_each_question_as_typed():
    nasty = "<script>alert(1)</script> can I [pay](javascript:alert(1)) by *fax*? #1"
    (topic,) = group_questions(asked(nasty, "can I pay by fax"), KB)
    assert problems(topic.body) == []  # the knowledge editor would refuse raw HTML or such links
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in topic.body and "\\[pay\\]" in topic.body
    assert topic.body.count("\n- ") == 2 and "## What customers asked" in topic.body
    assert "## Answer" in topic.body
    assert set(topic.to_dict()["examples"]) == {nasty, "can I pay by fax"}


def test_labels_use_the_words_as_customers_wrote_them():
    (topic,) = group_questions(asked("Self-hosted version?", "is there a self-hosted edition"), KB)
    assert topic.terms[0] == "self-hosted" and "self" not in topic.terms and "hosted" not in topic.terms


def test_the_grouping_does_not_depend_on_the_order_questions_came_in():
    questions = asked(*WHATSAPP, *FAX, *PIPEDRIVE, *MOBILE, *OFF_TOPIC)
    expected = sorted(sorted(t.examples) for t in group_questions(questions, KB))
    rng = random.Random(7)
    for _ in range(5):
        shuffled = questions[:]
        rng.shuffle(shuffled)
        assert sorted(sorted(t.examples) for t in group_questions(shuffled, KB)) == expected


def test_without_a_knowledge_base_english_frequencies_still_tell_topics_apart():
    topics = group_questions(asked(*WHATSAPP, *FAX, *OFF_TOPIC))
    assert sorted(sorted(t.examples) for t in topics) == sorted(
        [sorted(WHATSAPP), sorted(FAX), *([q] for q in OFF_TOPIC)])


def test_rare_phrasings_past_the_exact_limit_join_the_nearest_topic(monkeypatch):
    monkeypatch.setattr(gaps, "MAX_PHRASINGS", 4)
    questions = asked(*WHATSAPP[:2], *WHATSAPP[:2], *FAX[:2], *FAX[:2], WHATSAPP[2], FAX[2], OFF_TOPIC[0])
    topics = group_questions(questions, KB)
    assert sorted(sorted(set(t.examples)) for t in topics) == sorted(
        [sorted(WHATSAPP[:3]), sorted(FAX), [OFF_TOPIC[0]]])


def brute_force(sims: np.ndarray, threshold: float) -> list[list[int]]:
    """Average linkage by the definition: merge the closest pair of clusters (mean pairwise
    similarity of their members) while it is at least `threshold`."""
    clusters = [[i] for i in range(len(sims))]
    while len(clusters) > 1:
        best, pair = -np.inf, None
        for a in range(len(clusters)):
            for b in range(a + 1, len(clusters)):
                value = np.mean([sims[i, j] for i in clusters[a] for j in clusters[b]])
                if value > best:
                    best, pair = value, (a, b)
        if best < threshold:
            break
        a, b = pair
        clusters[a] += clusters.pop(b)
    return sorted(sorted(c) for c in clusters)


@pytest.mark.parametrize("seed", range(30))
def test_the_nearest_neighbour_chain_finds_the_average_linkage_clusters(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(3, 16))
    points = rng.random((size, 6)) ** 3  # sparse-ish, like weighted words
    sims = np.round(points @ points.T / np.outer(*[np.linalg.norm(points, axis=1)] * 2), 6)
    threshold = float(np.quantile(sims[~np.eye(size, dtype=bool)], rng.uniform(0.5, 0.95)))
    expected = brute_force(sims.copy(), threshold)
    np.fill_diagonal(sims, -np.inf)
    assert sorted(sorted(c) for c in _agglomerate(sims, threshold)) == expected

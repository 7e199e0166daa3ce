"""Knowledge base loading, passage retrieval, the built-in responder and the LLM prompt.

Retrieval tests run against the shipped `knowledge/` articles, because what matters is that
real customer questions find the real article; loading edge cases use small files in tmp_path.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from chatapp.services.knowledge import (
    DECLINE_TEXT,
    PASSAGE_WORDS,
    Hit,
    KnowledgeBase,
    Passage,
    Retrieval,
    cited_articles,
    compose_answer,
    parse_article,
    small_talk_reply,
)
from chatapp.services.knowledge.text import tokenize

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def article_text(slug: str, title: str, body: str, category: str = "Setup") -> str:
    return f"---\ntitle: {title}\nslug: {slug}\ncategory: {category}\nupdated: 2026-01-02\n---\n{body}"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(KNOWLEDGE)


# --- Loading ---------------------------------------------------------------------------------


def test_parse_article_reads_front_matter_and_strips_it_from_the_body() -> None:
    article = parse_article(
        "---\ntitle: Resetting your password\nslug: reset-password\n"
        "category: Account and login\nupdated: 2026-09-14\n---\nIntro.\n\n## Steps\n\n1. Click.\n"
    )
    assert article.slug == "reset-password"
    assert article.title == "Resetting your password"
    assert article.category == "Account and login"
    assert article.updated == "2026-09-14"  # YAML reads a date; we keep the ISO text
    assert article.body == "Intro.\n\n## Steps\n\n1. Click."


def test_bad_files_are_skipped_with_a_warning_naming_each(tmp_path: Path, caplog) -> None:
    write(tmp_path, "good.md", article_text("good-one", "Good one", "Fine text."))
    bad = {
        "no-front-matter.md": "# Just a heading\n\nNo metadata here.",
        "broken-yaml.md": "---\ntitle: [unclosed\nslug: broken\n---\nText",
        "no-title.md": "---\nslug: no-title\n---\nText",
        "no-slug.md": "---\ntitle: No slug\n---\nText",
        "bad-slug.md": "---\ntitle: Bad slug\nslug: Not A Slug\n---\nText",
        "list-front-matter.md": "---\n- a\n- b\n---\nText",
    }
    for name, text in bad.items():
        write(tmp_path, name, text)
    (tmp_path / "not-utf8.md").write_bytes(b"---\ntitle: \xff\xfe\nslug: x\n---\n")

    with caplog.at_level(logging.WARNING, logger="chatapp.services.knowledge"):
        kb = KnowledgeBase.load(tmp_path)

    assert [a.slug for a in kb.articles] == ["good-one"]
    warned = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for name in [*bad, "not-utf8.md"]:
        assert name in warned
    assert "good.md" not in warned


def test_duplicate_slug_keeps_the_first_file_and_warns(tmp_path: Path, caplog) -> None:
    write(tmp_path, "a.md", article_text("same", "First", "One."))
    write(tmp_path, "b.md", article_text("same", "Second", "Two."))
    with caplog.at_level(logging.WARNING):
        kb = KnowledgeBase.load(tmp_path)
    assert [a.title for a in kb.articles] == ["First"]
    assert any("b.md" in r.getMessage() and "duplicate slug" in r.getMessage() for r in caplog.records)


def test_articles_are_sorted_by_category_then_title(tmp_path: Path) -> None:
    write(tmp_path, "1.md", article_text("z-setup", "Alpha", "x", category="Setup"))
    write(tmp_path, "2.md", article_text("b-billing", "Zulu", "x", category="Billing"))
    write(tmp_path, "3.md", article_text("a-billing", "Bravo", "x", category="Billing"))
    kb = KnowledgeBase.load(tmp_path)
    assert [a.slug for a in kb.articles] == ["a-billing", "b-billing", "z-setup"]
    assert kb.article("z-setup").title == "Alpha"
    assert kb.article("missing") is None


def test_empty_folder_loads_and_declines_everything(tmp_path: Path) -> None:
    kb = KnowledgeBase.load(tmp_path)
    assert kb.articles == ()
    assert kb.search("how do I reset my password?") == Retrieval(hits=(), covered=False)


def test_shipped_knowledge_base_is_complete(kb: KnowledgeBase) -> None:
    assert len(kb.articles) >= 32
    assert len({a.slug for a in kb.articles}) == len(kb.articles)
    assert len({a.category for a in kb.articles}) >= 7


# --- Passages --------------------------------------------------------------------------------


def test_passages_follow_sections_and_carry_title_and_heading(tmp_path: Path) -> None:
    long_section = "\n\n".join(f"Paragraph {i}" + " word" * 60 for i in range(6))
    body = f"Intro line.\n\n## Short section\n\nShort text.\n\n## Long section\n\n{long_section}\n"
    write(tmp_path, "a.md", article_text("demo", "Demo article", body))
    passages = KnowledgeBase.load(tmp_path).passages

    assert [p.heading for p in passages[:2]] == ["Overview", "Short section"]
    assert all(p.title == "Demo article" and p.slug == "demo" for p in passages)
    long_parts = [p for p in passages if p.heading == "Long section"]
    assert len(long_parts) >= 2  # split into paragraph groups, none cut mid-paragraph
    assert all(len(p.text.split()) <= PASSAGE_WORDS + 65 for p in long_parts)
    assert "\n\n".join(p.text for p in long_parts) == long_section
    article_id = passages[0].article_id
    assert [p.id for p in passages] == [
        f"{article_id}:overview", f"{article_id}:short-section",
        *[f"{article_id}:long-section" + (f".{n}" if n > 1 else "") for n in range(1, len(long_parts) + 1)],
    ]


def test_passage_ids_are_stable_across_reloads(tmp_path: Path) -> None:
    alpha = "Intro.\n\n## One\n\nText one.\n\n## Two\n\nText two."
    write(tmp_path, "a.md", article_text("alpha", "Alpha", alpha))
    write(tmp_path, "b.md", article_text("beta", "Beta", "Beta text."))
    first = KnowledgeBase.load(tmp_path)
    write(tmp_path, "b.md", article_text("beta", "Beta", "Beta text, edited.\n\n## More\n\nMore."))
    write(tmp_path, "c.md", article_text("aardvark", "Aardvark", "Sorts first."))
    second = KnowledgeBase.load(tmp_path)

    alpha_before = [p for p in first.passages if p.slug == "alpha"]
    assert alpha_before == [p for p in second.passages if p.slug == "alpha"]
    alpha_id = alpha_before[0].article_id
    two = Passage(f"{alpha_id}:two", alpha_id, "alpha", "Alpha", "Two", "Text two.")
    assert second.passage(two.id) == two
    assert second.passage(f"{alpha_id}:nine") is None


# --- Retrieval -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "slug"),
    [
        ("I can't remember my password", "reset-password"),
        ("pasword reset link expired", "reset-password"),  # typo
        ("how do I connect HubSpot to log calls?", "hubspot-integration"),
        ("how much do we pay for minutes beyond our allowance", "minutes-and-overage"),
        ("my webhook endpoint got disabled automatically", "webhook-failures"),
        ("can I require everyone to sign in through Entra ID with SAML", "sso-saml"),
        ("transfer my current number from my old phone company", "number-porting"),
        ("whats the API rate limit on growth", "api-rate-limits"),
        ("how do I stop my subscribtion", "cancel-subscription"),  # typo
    ],
)
def test_questions_find_the_right_article(kb: KnowledgeBase, question: str, slug: str) -> None:
    retrieval = kb.search(question)
    assert retrieval.covered
    assert retrieval.cited_slugs[0] == slug
    assert 1 <= len(retrieval.hits) <= 3
    assert [h.score for h in retrieval.hits] == sorted((h.score for h in retrieval.hits), reverse=True)


@pytest.mark.parametrize(
    "question",
    [
        "what's a good recipe for lasagne?",
        "who won the last football world cup",
        "how do I reset my iPhone to factory settings?",  # not "phone" with a typo
        "",
    ],
)
def test_uncovered_questions_are_declined(kb: KnowledgeBase, question: str) -> None:
    retrieval = kb.search(question)
    assert not retrieval.covered
    assert compose_answer(question, retrieval) == DECLINE_TEXT


def test_decline_text_offers_a_person_and_rephrasing() -> None:
    assert "person from our support team" in DECLINE_TEXT
    assert "rephras" in DECLINE_TEXT
    assert "doesn't cover" in DECLINE_TEXT


def test_spelling_fixes_add_missing_letters_but_never_drop_extra_ones(kb: KnowledgeBase) -> None:
    assert kb.search("pasword").terms == ("password",)
    assert kb.search("calender").terms == ("calendar",)
    # "factory" is one letter longer than "factor" (two-factor): a real word, not a typo.
    assert "factor" not in kb.search("factory settings").terms


@pytest.mark.parametrize(
    ("earlier", "follow_up", "slugs"),
    [
        ("how do webhooks work?", "what if it fails?", {"webhook-failures"}),
        ("can I connect Salesforce?", "which plan has it?", {"salesforce-integration"}),
        # Both state the price of a toll-free number ($6 a month): in "Extras on any plan" and
        # in "Option 1: buy a new number".
        ("can I get a toll-free number?", "and what does it cost?", {"phone-numbers", "plans-and-pricing"}),
    ],
)
def test_follow_up_uses_recent_turns_to_find_the_earlier_topic(
    kb: KnowledgeBase, earlier: str, follow_up: str, slugs: set[str]
) -> None:
    alone = kb.search(follow_up)
    with_history = kb.search(follow_up, recent_turns=["hello", earlier])
    assert alone.cited_slugs[0] not in slugs
    assert with_history.cited_slugs[0] in slugs
    assert with_history.covered


def test_hits_leave_room_for_a_second_article(kb: KnowledgeBase) -> None:
    for question in ["how do I reset my password?", "webhook signature verification", "port my number"]:
        retrieval = kb.search(question, k=3)
        slugs = [h.passage.slug for h in retrieval.hits]
        assert len(slugs) == 3 and max(slugs.count(s) for s in slugs) <= 2


def test_colliding_stems_are_kept_apart() -> None:
    assert tokenize("busy") != tokenize("business")
    assert tokenize("customers") == tokenize("customer") != tokenize("custom")
    assert tokenize("important") != tokenize("import")


def test_signed_out_is_not_signed_in(kb: KnowledgeBase) -> None:
    retrieval = kb.search("I keep getting signed out")
    assert retrieval.hits[0].passage.heading == "Signed out unexpectedly"


@pytest.mark.parametrize(
    "question",
    [
        "can the agent send telegram messages to callers",
        "is there a mac app",
        "does ellavox integrate with dynamics",
    ],
)
def test_in_domain_questions_about_missing_features_are_declined(kb: KnowledgeBase, question: str) -> None:
    # "agent", "messages", "app" are in most articles: they can't make a question covered.
    assert not kb.search(question).covered


def test_the_question_outweighs_history(kb: KnowledgeBase) -> None:
    history = ["how do I port my number?", "what documents do I need for porting?"]
    retrieval = kb.search("how do I turn on two-factor authentication?", recent_turns=history)
    assert retrieval.cited_slugs[0] == "two-factor-authentication"


def test_cited_slugs_are_unique_in_rank_order() -> None:
    def hit(slug: str, n: int, score: float) -> Hit:
        return Hit(Passage(f"{slug}-id:s{n}", f"{slug}-id", slug, slug, "h", "t"), score)

    retrieval = Retrieval(hits=(hit("b", 0, 3), hit("a", 1, 2), hit("b", 2, 1)), covered=True)
    assert retrieval.cited_slugs == ("b", "a")


def test_cited_articles_are_distinct_in_citation_order(kb: KnowledgeBase) -> None:
    ids = ["salesforce-integration#2", "reset-password#0", "salesforce-integration#0"]
    assert cited_articles(kb, ids) == [
        ("salesforce-integration", kb.article("salesforce-integration").title),
        ("reset-password", kb.article("reset-password").title),
    ]


def test_cited_articles_skip_removed_articles_but_keep_renumbered_passages(kb: KnowledgeBase) -> None:
    ids = ["no-such-article#0", "reset-password#999", "no-such-article#1"]
    assert cited_articles(kb, ids) == [("reset-password", kb.article("reset-password").title)]
    assert cited_articles(kb, []) == []


def test_search_articles_for_the_help_page(kb: KnowledgeBase) -> None:
    assert kb.search_articles("") == list(kb.articles[:20])
    assert len(kb.search_articles("", limit=100)) == len(kb.articles)
    assert kb.search_articles("salesforce")[0].slug == "salesforce-integration"
    assert len(kb.search_articles("webhook", limit=2)) == 2
    assert kb.search_articles("zzzqqq xylophone") == []


# --- Small talk ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", "Hi!"),
        ("Hello there!", "Hi!"),
        ("thanks so much :)", "welcome"),
        ("ok thanks, bye", "Goodbye"),
        ("who are you?", "help assistant"),
        ("Are you a bot?", "help assistant"),
    ],
)
def test_small_talk_gets_a_short_reply(text: str, expected: str) -> None:
    reply = small_talk_reply(text)
    assert reply is not None and expected in reply
    assert len(reply) < 300


@pytest.mark.parametrize(
    "text",
    ["hi, how do I reset my password?", "thanks, but my calls still fail", "how much is Growth?", ""],
)
def test_real_questions_are_not_small_talk(text: str) -> None:
    assert small_talk_reply(text) is None


# --- Built-in responder ----------------------------------------------------------------------


def test_compose_answer_is_short_and_quoted_from_the_passages(kb: KnowledgeBase) -> None:
    question = "I forgot my password, how do I reset it?"
    retrieval = kb.search(question)
    answer = compose_answer(question, retrieval)

    assert answer != DECLINE_TEXT
    assert "Forgot password?" in answer  # the actual step, not just the intro
    assert len(answer) <= 1000
    full_article = kb.article("reset-password").body
    assert len(answer) < len(full_article) / 2
    sources = "\n".join(h.passage.text for h in retrieval.hits)
    body_lines = [line for line in answer.splitlines() if line and not line.startswith("**")]
    assert body_lines
    for line in body_lines:
        assert line in sources or all(part in sources for part in line.split(". "))
    assert "Sources" not in answer and "reset-password" not in answer


def test_compose_answer_stays_short_when_everything_matches(kb: KnowledgeBase) -> None:
    question = (
        "webhook deliveries failing: HTTP 401, 403, 404, 500 errors, timeouts, TLS certificate "
        "expired, connection refused, redirects, 410 gone, retries, endpoint disabled"
    )
    retrieval = kb.search(question)
    answer = compose_answer(question, retrieval)
    assert retrieval.covered and "410" in answer
    assert len(answer) <= 1000


def test_compose_answer_declines_when_not_covered(kb: KnowledgeBase) -> None:
    retrieval = kb.search("best pizza dough hydration")
    assert compose_answer("best pizza dough hydration", retrieval) == DECLINE_TEXT

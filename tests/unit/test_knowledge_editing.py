"""The editable knowledge base without a database: passage ids, the incremental index,
citations, the Markdown safety check, import conversion and the export round trip."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from chatapp.services.knowledge import (
    Article,
    KnowledgeBase,
    UnsafeMarkdown,
    citations,
    cited_articles,
    files,
)
from chatapp.services.knowledge.articles import DRAFT, parse_article, render_article, seed_id
from chatapp.services.knowledge.bm25 import Bm25
from chatapp.services.knowledge.files import convert, expand, export_zip
from chatapp.services.knowledge.passages import split_passages
from chatapp.services.knowledge.safety import check, problems, strip_unsafe
from chatapp.services.knowledge.spelling import Speller
from chatapp.services.knowledge.vocabulary import STOPWORDS


def article(body: str, slug: str = "alpha", title: str = "Alpha", **fields) -> Article:
    article_id = fields.pop("id", f"id-{slug}")
    return Article(id=article_id, slug=slug, title=title, category="Setup", body=body, **fields)


# --- Passage ids -----------------------------------------------------------------------------


def test_passage_ids_survive_sections_added_removed_and_reordered() -> None:
    before = {p.heading: p.id for p in split_passages(article("Intro.\n\n## One\n\nA.\n\n## Two\n\nB."))}
    after = split_passages(article("## New\n\nN.\n\n## Two\n\nB, edited.\n\n## One\n\nA."))
    assert before == {"Overview": "id-alpha:overview", "One": "id-alpha:one", "Two": "id-alpha:two"}
    assert {p.heading: p.id for p in after} == {
        "New": "id-alpha:new", "Two": "id-alpha:two", "One": "id-alpha:one"}


def test_repeated_headings_and_long_sections_get_distinct_ids() -> None:
    long = "\n\n".join("word " * 100 for _ in range(3))
    ids = [p.id for p in split_passages(article(f"## Errors\n\nA.\n\n## Errors\n\nB.\n\n## Long\n\n{long}"))]
    assert ids == [
        "id-alpha:errors", "id-alpha:errors-2", "id-alpha:long", "id-alpha:long.2", "id-alpha:long.3"]


def test_files_seed_stable_ids_from_their_slug() -> None:
    text = "---\ntitle: Alpha\nslug: alpha\ncategory: Setup\nupdated: 2026-01-02\n---\nBody."
    assert parse_article(text).id == parse_article(text.replace("Body.", "Other.")).id == seed_id("alpha")
    assert seed_id("alpha") != seed_id("beta")


# --- The index, edited -----------------------------------------------------------------------


def _results(kb: KnowledgeBase, question: str) -> tuple:
    """Scores, best passage and coverage (equal scores may come in another order after an edit)."""
    retrieval = kb.search(question, k=5)
    hits = retrieval.hits
    return [round(h.score, 4) for h in hits], hits[0].passage.id if hits else None, retrieval.coverage


def test_an_edited_snapshot_ranks_like_a_fresh_build() -> None:
    base = KnowledgeBase.load("knowledge")
    original = base.article("reset-password")
    body = original.body + "\n\n## Kiosk\n\nKiosk mode."
    edited = replace(original, title="Resetting a forgotten password", body=body)
    incremental = base.with_article(edited).without_article(base.article("webhooks").id)
    fresh = KnowledgeBase([edited if a.id == edited.id else a for a in base.articles if a.slug != "webhooks"])
    for question in ["I forgot my password", "kiosk mode", "verify webhook signature", "port my number"]:
        assert _results(incremental, question) == _results(fresh, question)
    assert incremental.passage(f"{original.id}:kiosk") is not None
    assert base.passage(f"{original.id}:kiosk") is None  # the old snapshot is untouched
    assert base.article("webhooks") is not None
    assert incremental.article("webhooks") is None


def test_a_draft_leaves_the_index_and_old_slugs_still_resolve() -> None:
    kb = KnowledgeBase([article("Kiosk mode explained.")])
    renamed = kb.with_article(replace(kb.article("alpha"), slug="kiosk", old_slugs=("alpha",)))
    assert renamed.article("alpha").slug == renamed.article("kiosk").slug == "kiosk"
    drafted = renamed.with_article(replace(renamed.article("kiosk"), status=DRAFT))
    assert drafted.article("kiosk") is None and not drafted.search("kiosk mode").hits


def test_bm25_with_documents_replaced_scores_like_a_fresh_index() -> None:
    docs = [(f"d{i}", {"call": i % 3 + 1, f"t{i % 4}": 2}) for i in range(12)]
    edited = Bm25(docs).replaced(["d0", "d5"], [("d12", {"call": 4, "t1": 1})])
    fresh = Bm25([d for d in docs if d[0] not in ("d0", "d5")] + [("d12", {"call": 4, "t1": 1})])
    for tokens in (["call"], ["t1", "call"], ["nothing"]):
        for key in ["d1", "d7", "d12"]:
            expected = fresh.scores(tokens)[fresh.slot(key)]
            assert edited.scores(tokens)[edited.slot(key)] == pytest.approx(expected)
    compacted = Bm25(docs).replaced([f"d{i}" for i in range(10)], [])
    assert compacted.size == 2 and np.all(compacted.scores(["call"]) > 0)


def test_bm25_group_scores_pool_a_term_with_its_synonyms() -> None:
    docs = [
        ("own", {"wipe": 1, "x": 3}),
        ("synonym", {"erasur": 1, "x": 3}),
        ("both", {"wipe": 1, "erasur": 1, "x": 2}),
        *[(f"other{i}", {"x": 4}) for i in range(5)],
    ]
    index = Bm25(docs)
    alone = index.group_scores([(1.0, "wipe", ())])
    assert alone == pytest.approx(index.scores(["wipe"]))  # no synonyms: plain BM25
    pooled = index.group_scores([(1.0, "wipe", (("erasur", 0.5),))])
    own, synonym, both = (pooled[index.slot(key)] for key in ("own", "synonym", "both"))
    assert own == pytest.approx(alone[index.slot("own")])  # the user's own word scores as before
    assert 0 < synonym < own  # a synonym matches, at its share of an occurrence
    assert both < own + synonym  # one term, saturating once: synonyms can't pile up
    assert pooled[index.slot("other0")] == 0
    # A word no document uses is scored through its synonyms alone.
    assert index.group_scores([(1.0, "nowhere", (("erasur", 1.0),))])[index.slot("synonym")] > 0
    # A common synonym of a rare word counts for less than a rare one.
    common = index.group_scores([(1.0, "wipe", (("x", 0.5),))])
    assert common[index.slot("other0")] < synonym


# --- Citations -------------------------------------------------------------------------------


def test_citations_follow_the_article_id_to_its_current_slug_and_title() -> None:
    kb = KnowledgeBase([article("Intro.\n\n## Steps\n\nDo it.")])
    stored = [p.id for p in kb.passages]  # what an answer saved
    renamed = kb.with_article(
        replace(kb.article("alpha"), slug="alpha-2", title="Alpha, renamed", old_slugs=("alpha",),
                body="## New first\n\nX.\n\n## Steps\n\nDo it differently.")
    )
    assert cited_articles(renamed, stored) == [("alpha-2", "Alpha, renamed")]
    assert cited_articles(renamed, ["alpha#3"]) == [("alpha-2", "Alpha, renamed")]  # legacy id, old slug


def test_removed_articles_are_reported_as_removed() -> None:
    kb = KnowledgeBase([article("One."), article("Two.", slug="beta", title="Beta")])
    ids = ["id-beta:overview", "id-alpha:overview", "gone#0"]
    after = kb.without_article("id-alpha")
    assert [(c.slug, c.removed) for c in citations(after, ids, {"id-alpha": ("alpha", "Alpha")})] == [
        ("beta", False), ("alpha", True), ("gone", True),
    ]
    assert citations(after, ids, {})[1].title == ""  # purged: no name known
    assert cited_articles(after, ids) == [("beta", "Beta")]


# --- Spelling ---------------------------------------------------------------------------------


def test_speller_fixes_non_words_only() -> None:
    speller = Speller(["password", "password", "calendar", "break", "setup"], STOPWORDS, STOPWORDS)
    assert speller.correct("pasword") == "password"
    assert speller.correct("calender") == "calendar"
    assert speller.correct("setp") == "setup"
    assert speller.correct("wiht") == "with"  # a stopword: dropped later
    assert speller.correct("bread") == "bread"  # a real word the help centre never uses
    assert speller.correct("fone") == "fone"  # four letters, too many neighbours


# --- Safety -----------------------------------------------------------------------------------


def test_safe_markdown_passes() -> None:
    check("See [pricing](/help/plans) or [our site](https://example.com). `<b>` in code is fine.")


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "Hi <img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "![x](data:image/png;base64,AAAA)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: vbscript:msgbox",
        "[x](//evil.example/path)",
    ],
)
def test_unsafe_markdown_is_refused_with_the_line(body: str) -> None:
    with pytest.raises(UnsafeMarkdown) as error:
        check(f"Fine line.\n\n{body}")
    assert error.value.problems and all(p.startswith("line 3:") for p in error.value.problems)


def test_strip_unsafe_keeps_link_text_and_drops_html() -> None:
    text, removed = strip_unsafe("Go [here](javascript:alert(1)) or <b>there</b> [ok](/help/x).")
    assert text == "Go here or there [ok](/help/x)."
    assert len(removed) == 3 and problems(text) == []


# --- Import and export -----------------------------------------------------------------------


def test_html_import_drops_script_and_style_entirely() -> None:
    html = (b"<html><head><title>Reset it</title><style>p{color:red}</style><script>steal()</script></head>"
            b"<body><h1>Reset it</h1><p>Open <b>Settings</b> then <a href='javascript:steal()'>this</a>.</p>"
            b"<script>document.cookie</script><h2>Steps</h2><ol><li>One</li><li>Two</li></ol>"
            b"<img src=x onerror=steal()></body></html>")
    draft = convert("reset.html", html)
    assert (draft.title, draft.slug) == ("Reset it", "reset-it")
    assert "steal" not in draft.body and "cookie" not in draft.body and "color" not in draft.body
    assert "<" not in draft.body and "javascript" not in draft.body
    assert draft.body.startswith("Open **Settings** then this.")
    assert "## Steps" in draft.body and "1. One" in draft.body
    assert draft.notes  # says what it removed


def test_markdown_and_text_imports_take_a_title_and_strip_html() -> None:
    md = convert("notes.md", b"# Kiosk mode\n\nUse <b>kiosk</b> mode.\n")
    assert (md.title, md.body, md.slug) == ("Kiosk mode", "Use kiosk mode.", "kiosk-mode")
    text = convert("faq_answer.txt", b"A single line of text")
    assert (text.title, text.body) == ("Faq answer", "A single line of text")
    with pytest.raises(ValueError, match="unsupported file type"):
        convert("slides.pdf", b"%PDF")
    with pytest.raises(ValueError, match="no text"):
        convert("empty.md", b"  \n")


def test_export_then_import_gives_the_same_articles() -> None:
    articles = [a for a in KnowledgeBase.load("knowledge").articles[:6]]
    archive = export_zip(articles)
    assert sorted(zipfile.ZipFile(io.BytesIO(archive)).namelist()) == sorted(f"{a.slug}.md" for a in articles)
    back = {d.slug: d for d in (convert(name, data) for name, data in expand([("export.zip", archive)]))}
    for a in articles:
        assert (back[a.slug].title, back[a.slug].category, back[a.slug].body) == (a.title, a.category, a.body)
        assert back[a.slug].notes == ()
        again = parse_article(render_article(a))
        assert (again.slug, again.title, again.category, again.body, again.updated) == (
            a.slug, a.title, a.category, a.body, a.updated)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_import_zip_that_is_not_one_or_unpacks_too_far_is_refused_whole():
    with pytest.raises(ValueError, match=r"notes\.zip is not a zip file"):
        list(expand([("notes.zip", b"PK but not really")]))
    many = _zip({f"a{n}.md": b"# A\n\ntext" for n in range(files.MAX_ZIP_FILES + 1)})
    with pytest.raises(ValueError, match="more than 2000 files"):
        list(expand([("many.zip", many)]))
    bomb = _zip({"big.md": b"0" * (files.MAX_UNZIPPED + 1)})  # about 50 KB packed
    assert len(bomb) < 200_000
    with pytest.raises(ValueError, match="50 MB of articles"):
        list(expand([("bomb.zip", bomb)]))
    fine = _zip({"a.md": b"# A\n\ntext", "skip.exe": b"MZ", "dir/b.txt": b"B"})
    assert [name for name, _ in expand([("fine.zip", fine)])] == ["a.md", "dir/b.txt"]

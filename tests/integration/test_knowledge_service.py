"""The editable knowledge base against the real database server (and Redis for two workers)."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from chatapp.models import ADMIN, AGENT, CUSTOMER, GUEST, User
from chatapp.services.conversations import NotAllowed
from chatapp.services.knowledge import (
    ArticleNotFound,
    EditConflict,
    Editor,
    KnowledgeService,
    SlugTaken,
    UnsafeMarkdown,
    citations,
    cited_articles,
)
from chatapp.services.knowledge.desk import KnowledgeDesk
from chatapp.services.store import Store

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
ANA = Editor("u-ana", "Ana")
BO = Editor("u-bo", "Bo")


@pytest.fixture
async def store(database):
    store = Store(database.uri, f"it_kb_{uuid.uuid4().hex[:8]}", timeout_ms=3000)
    yield store
    await store.client.drop_database(store.db.name)
    store.close()


@pytest.fixture
async def service(store):
    service = KnowledgeService(store.db)
    await service.start()
    yield service
    await service.close()


async def poll(condition, within: float = 1.0) -> None:
    """Return once `condition()` holds; fail if it does not within `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not true within {within} s"
        await asyncio.sleep(0.01)


async def test_an_empty_database_is_seeded_once_from_the_folder(store) -> None:
    first = KnowledgeService(store.db, seed_dir=KNOWLEDGE)
    second = KnowledgeService(store.db, seed_dir=KNOWLEDGE)
    await asyncio.gather(first.start(), second.start())  # two workers starting together
    files = len(list(KNOWLEDGE.glob("*.md")))
    assert len(first.current().articles) == len(second.current().articles) == files
    assert len(await first.list(limit=1000)) == files
    reset = first.current().article("reset-password")
    assert reset.updated == "2026-09-14" and reset.updated_by == Editor("system", "Knowledge folder")
    assert first.current().search("I forgot my password").cited_slugs[0] == "reset-password"
    await first.save(ANA, reset.id, reset.version, title="Resetting your password (edited)")
    again = KnowledgeService(store.db, seed_dir=KNOWLEDGE)
    await again.start()  # not empty any more: the database is the truth
    assert again.current().article("reset-password").title == "Resetting your password (edited)"
    assert [v.number for v in await again.versions(reset.id)] == [2, 1]


async def test_drafts_are_for_agents_and_publishing_makes_them_searchable(service) -> None:
    draft = await service.create(ANA, "Kiosk mode", "Kiosk mode locks the dashboard.", "Setup")
    assert draft.status == "draft" and draft.version == 1 and draft.updated_by == ANA
    assert service.current().article("kiosk-mode") is None
    assert (await service.get(draft.id)).body == "Kiosk mode locks the dashboard."
    assert [a.slug for a in await service.list("KIOSK", status="draft")] == ["kiosk-mode"]
    assert await service.list("kiosk", category="Billing") == []
    published = await service.save(BO, draft.id, 1, status="published")
    assert service.current().search("kiosk mode dashboard").cited_slugs == ("kiosk-mode",)
    assert published.updated_by == BO and published.version == 2


async def test_edit_twice_diff_and_restore_a_version(service) -> None:
    body = "Step one.\n\n## Turn it off\n\nPress off."
    article = await service.create(ANA, "Kiosk mode", body, status="published")
    second = await service.save(BO, article.id, 1, body="Step one, clearer.\n\n## Turn it off\n\nPress off.")
    third = await service.save(ANA, article.id, 2, title="Kiosk mode explained")
    with pytest.raises(EditConflict):
        await service.save(BO, article.id, 2, body="based on an old copy")
    versions = await service.versions(article.id)
    assert [(v.number, v.saved_by.name, v.note) for v in versions] == [
        (3, "Ana", "edited"), (2, "Bo", "edited"), (1, "Ana", "created")]
    assert [type(v.saved_at) for v in versions] == [datetime] * 3, [v.saved_at for v in versions]
    diff = await service.diff(article.id, 1, 3)
    assert "-title: Kiosk mode\n+title: Kiosk mode explained" in diff
    assert "-Step one.\n+Step one, clearer." in diff and "Press off" not in diff.replace(" Press off.", "")
    restored = await service.restore_version(BO, article.id, 1, third.version)
    assert (restored.version, restored.title, restored.body) == (4, article.title, article.body)
    assert (await service.versions(article.id))[0].note == "restored version 1"
    assert service.current().article_by_id(article.id).title == "Kiosk mode"
    assert second.slug == restored.slug == "kiosk-mode"


async def test_unsafe_or_invalid_saves_are_refused(service) -> None:
    with pytest.raises(UnsafeMarkdown, match="raw HTML"):
        await service.create(ANA, "Evil", "Hi <script>alert(1)</script>")
    article = await service.create(ANA, "Good", "Fine.")
    with pytest.raises(UnsafeMarkdown, match="javascript"):
        await service.save(ANA, article.id, 1, body="[x](javascript:alert(1))")
    with pytest.raises(ValueError, match="slug"):
        await service.save(ANA, article.id, 1, slug="Not A Slug")
    with pytest.raises(SlugTaken):
        await service.create(ANA, "Good", "Same address.")
    assert (await service.get(article.id)).version == 1


async def test_soft_delete_restore_and_purge_after_the_window(service, store) -> None:
    article = await service.create(ANA, "Kiosk mode", "Kiosk mode text.", status="published")
    await service.delete(BO, article.id)
    assert service.current().article("kiosk-mode") is None
    with pytest.raises(ArticleNotFound):
        await service.get(article.id)
    assert [a.id for a in await service.list(deleted=True)] == [article.id]
    assert service.unlisted_articles()[article.id] == ("kiosk-mode", "Kiosk mode")
    await service.restore(ANA, article.id)
    assert service.current().article("kiosk-mode").id == article.id
    await service.delete(BO, article.id)
    doc = await store.db["kb_articles"].find_one({"_id": article.id})  # deleted 31 days ago
    doc["deleted_at"] = datetime.now(UTC) - timedelta(days=31)
    await store.db["kb_articles"].replace_one({"_id": article.id}, doc)  # ($set would store a string)
    with pytest.raises(ArticleNotFound):
        await service.restore(ANA, article.id)
    assert await service.purge_deleted() == 1
    assert await store.db["kb_versions"].count_documents({"article_id": article.id}) == 0
    assert (await service.create(ANA, "Kiosk mode", "A new one.")).slug == "kiosk-mode"  # slug free again


async def test_a_stored_citation_resolves_after_edits_reorders_and_a_rename(service) -> None:
    body = "Intro.\n\n## Turn it on\n\nPress on.\n\n## Turn it off\n\nPress off."
    article = await service.create(ANA, "Kiosk mode", body, status="published")
    answer_sources = [h.passage.id for h in service.current().search("how do I turn kiosk off").hits]
    off = next(pid for pid in answer_sources if pid.endswith(":turn-it-off"))
    reordered = "## Before you start\n\nCharge it.\n\n## Turn it off\n\nPress off.\n\n## Turn it on\n\nOn."
    saved = await service.save(ANA, article.id, 1, body=reordered)
    assert service.current().passage(off).text == "Press off."  # same id after sections moved
    await service.save(BO, article.id, saved.version, title="Locking the dashboard", slug="lock-dashboard")
    kb = service.current()
    assert cited_articles(kb, answer_sources) == [("lock-dashboard", "Locking the dashboard")]
    assert kb.article("kiosk-mode").slug == "lock-dashboard"  # the old address still resolves
    assert (await service.get_by_slug("kiosk-mode")).id == article.id
    await service.delete(ANA, article.id)
    removed = citations(service.current(), answer_sources, service.unlisted_articles())
    assert [(c.slug, c.title, c.removed) for c in removed] == [
        ("lock-dashboard", "Locking the dashboard", True)]


async def test_import_files_become_drafts_and_export_round_trips(service, store) -> None:
    report = await service.import_files(ANA, [
        ("reset.html", b"<html><head><title>Reset it</title><script>steal()</script></head>"
                       b"<body><p>Open <a href='javascript:steal()'>settings</a>.</p></body></html>"),
        ("notes.md", b"# Kiosk mode\n\nUse kiosk mode.\n"),
        ("slides.pdf", b"%PDF"),
        ("again.md", b"# Kiosk mode\n\nA second one.\n"),
    ])
    assert [(a.slug, a.status) for a in report.created] == [
        ("reset-it", "draft"), ("kiosk-mode", "draft"), ("kiosk-mode-2", "draft")]
    assert report.created[0].body == "Open settings." and "steal" not in report.created[0].body
    assert [name for name, _ in report.failed] == ["slides.pdf"]
    assert any("kiosk-mode-2" in note for _, note in report.notes)
    assert (await service.versions(report.created[0].id))[0].note == "imported from reset.html"

    archive = await service.export_zip()
    other = KnowledgeService(store.client[f"{store.db.name}_copy"])
    await other.start()
    try:
        again = await other.import_files(BO, [("export.zip", archive)])
        shape = lambda articles: sorted((a.slug, a.title, a.category, a.body) for a in articles)  # noqa: E731
        assert shape(again.created) == shape(await service.list())
        assert again.failed == [] and again.notes == []
    finally:
        await store.client.drop_database(f"{store.db.name}_copy")


async def test_a_save_on_one_worker_is_searchable_on_another_within_a_second(store, redis_server) -> None:
    redis_a, redis_b = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    a, b = KnowledgeService(store.db, redis_a), KnowledgeService(store.db, redis_b)
    await a.start()
    await b.start()
    try:
        article = await a.create(ANA, "Kiosk mode", "Kiosk mode locks the dashboard.", status="published")
        assert a.current().search("kiosk mode").cited_slugs == ("kiosk-mode",)  # this worker: at once
        await poll(lambda: b.current().article("kiosk-mode") is not None)
        assert b.current().search("kiosk mode dashboard").cited_slugs == ("kiosk-mode",)
        await a.save(BO, article.id, 1, body="Kiosk mode now also hides the billing page.")
        await poll(lambda: "billing" in b.current().article("kiosk-mode").body)
        await b.delete(ANA, article.id)
        await poll(lambda: a.current().article("kiosk-mode") is None)
    finally:
        await a.close()
        await b.close()
        await redis_a.aclose()
        await redis_b.aclose()


def person(role: str, active: bool = True) -> User:
    return User(id=uuid.uuid4().hex[:24], username=f"{role}-x", email=f"{role}@example.com", token_version=0,
                created_at=datetime.now(UTC), role=role, active=active, display_name=role.title())


async def test_only_admins_write_agents_read_and_customers_see_nothing_of_the_desk(service) -> None:
    desk = KnowledgeDesk(service)
    admin, agent = person(ADMIN), person(AGENT)
    draft = await desk.create(admin, title="Internal draft", body="Not yet.", category="Drafts")
    assert draft.updated_by == Editor(admin.id, "Admin")  # stamped from the account
    assert [a.id for a in await desk.list(agent, "Internal draft")] == [draft.id]
    assert (await desk.get(agent, draft.id)).body == "Not yet."
    writes = [
        lambda user: desk.create(user, title="x", body="y"),
        lambda user: desk.save(user, draft.id, draft.version, title="x", body="y", category="c",
                               slug="x", status="published"),
        lambda user: desk.delete(user, draft.id),
        lambda user: desk.restore(user, draft.id),
        lambda user: desk.restore_version(user, draft.id, 1, draft.version),
        lambda user: desk.import_files(user, [("a.md", b"# A\n\nB")]),
        lambda user: desk.export_zip(user),
    ]
    for user in (agent, person(CUSTOMER), person(GUEST), person(ADMIN, active=False), None):
        for write in writes:
            with pytest.raises(NotAllowed):
                await write(user)
    for user in (person(CUSTOMER), person(GUEST), person(AGENT, active=False), None):
        with pytest.raises(NotAllowed):
            await desk.list(user)
        with pytest.raises(NotAllowed):
            await desk.get(user, draft.id)
    assert (await service.get(draft.id)).version == draft.version


async def test_an_import_too_big_or_a_zip_bomb_is_refused_whole(service) -> None:
    desk, admin = KnowledgeDesk(service), person(ADMIN)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.md", "a" * 60_000_000)
    with pytest.raises(ValueError, match="holds more than"):
        await desk.import_files(admin, [("bomb.zip", bomb.getvalue())])
    with pytest.raises(ValueError, match="not a zip"):
        await desk.import_files(admin, [("fake.zip", b"not a zip")])
    with pytest.raises(ValueError, match="at most 50 files"):
        await desk.import_files(admin, [(f"{n}.md", b"# T\n\nx") for n in range(51)])
    assert await desk.list(admin, status="draft") == []

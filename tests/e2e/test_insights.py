"""/inbox/insights in the browser: a fixed, seeded week shows its exact figures; what customers
did today shows too, a declined question becomes a knowledge gap an admin turns into a draft
article, the exports download, and a customer reaches none of it; a customer downloads their
own conversation."""

from __future__ import annotations

import asyncio
import csv
import re
import threading
import uuid
from pathlib import Path

from motor.motor_asyncio import AsyncIOMotorClient
from playwright.sync_api import expect

from tests.e2e.conftest import (
    QUESTION,
    answers,
    ask,
    at,
    make_admin,
    open_inbox,
    sign_up,
    thread_id,
    unique_name,
)
from tests.insights_seed import RANGE, WHATSAPP, WHATSAPP_TOO, seed_week

UNCOVERED = "What is the best lasagne recipe for a crowd?"


def _admin(app_server) -> str:
    email = f"ins_admin_{uuid.uuid4().hex[:8]}@example.com"
    make_admin({k: app_server.env[k] for k in ("MONGODB_URI", "MONGODB_DB")}, email)
    return email


def _seeded_week(app_server) -> list[str]:
    """Seeds the fixed week (from a thread: Playwright's sync API holds this one's event loop)."""
    found: list[str] = []

    async def seed() -> None:
        client = AsyncIOMotorClient(app_server.env["MONGODB_URI"])
        try:
            found.extend(await seed_week(client[app_server.db_name]))
        finally:
            client.close()

    worker = threading.Thread(target=asyncio.run, args=(seed(),))
    worker.start()
    worker.join(30)
    assert len(found) == 3
    return found


def test_a_seeded_week_shows_its_exact_figures_gaps_and_rows(new_context, app_server):
    ids = _seeded_week(app_server)
    admin = new_context().new_page()
    open_inbox(admin, _admin(app_server))
    admin.goto(f"/inbox/insights?from={RANGE['from']}&to={RANGE['to']}")
    expect(admin.get_by_text("2 Mar 2026 – 8 Mar 2026, against 23 Feb 2026 – 1 Mar 2026 before")
           ).to_be_visible()

    def tile(name: str):
        return admin.get_by_role("group", name=name, exact=True)

    expect(tile("Conversations")).to_contain_text("3")
    expect(tile("Conversations")).to_contain_text("+2 (+200%) on 1 before")
    expect(tile("Resolved by the assistant (share of conversations)")).to_contain_text("33.3%")
    expect(tile("Resolved by the assistant (share of conversations)")).to_contain_text("of 3 conversations")
    expect(tile("Handoff rate")).to_contain_text("33.3%")
    expect(tile("Decline rate")).to_contain_text("66.7%")
    expect(tile("Thumbs up")).to_contain_text("100.0%")
    expect(tile("CSAT (1 to 5)")).to_contain_text("4.00")
    expect(tile("Median time to first human reply")).to_contain_text("5 min")

    gaps = admin.get_by_role("region", name="Knowledge gaps")
    expect(gaps).to_contain_text("2 questions the help centre did not serve: 2 declined by the assistant")
    topic = gaps.get_by_role("listitem").filter(has_text=WHATSAPP).first
    expect(topic).to_contain_text(WHATSAPP_TOO)
    with admin.expect_download() as download:
        admin.get_by_role("link", name="Export conversations (CSV)").click()
    rows = list(csv.DictReader(Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()))
    assert [row["conversation"] for row in rows] == ids


def test_a_declined_question_is_a_knowledge_gap_an_admin_writes_up(new_context, app_server):
    customer = new_context().new_page()
    name = unique_name("ins")
    sign_up(customer, name)
    ask(customer, UNCOVERED)
    expect(answers(customer).first.get_by_role("button", name="Yes, talk to a person")).to_be_visible(
        timeout=20_000)

    admin = new_context().new_page()
    open_inbox(admin, _admin(app_server))
    admin.get_by_role("link", name="Insights").click()
    admin.wait_for_url(at("/inbox/insights"))
    expect(admin.get_by_role("group", name="Resolved by the assistant", exact=True)).to_be_visible()
    expect(admin.get_by_role("group", name="Conversations", exact=True)).to_be_visible()
    gaps = admin.get_by_role("region", name="Knowledge gaps")
    expect(gaps.get_by_role("heading", name="Knowledge gaps")).to_be_visible(timeout=20_000)
    expect(gaps.get_by_role("list", name="Questions asked").filter(has_text=UNCOVERED)).to_be_visible()

    with admin.expect_download() as download:
        admin.get_by_role("link", name="Export conversations (CSV)").click()
    rows = list(csv.DictReader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert any(name in " ".join(row.values()) for row in rows), rows[:3]
    with admin.expect_download() as download:
        admin.get_by_role("link", name="Export feedback (CSV)").click()
    assert download.value.suggested_filename.endswith(".csv")

    topic = gaps.get_by_role("listitem").filter(has_text=UNCOVERED).first
    topic.get_by_role("button", name=re.compile("^Write an article")).click()
    admin.wait_for_url(re.compile(r"/inbox/knowledge/[0-9a-f]{32}/?$"))
    expect(admin.get_by_label("Title", exact=True)).not_to_have_value("")
    expect(admin.get_by_label("Body", exact=True)).to_have_value(re.compile(re.escape(UNCOVERED)))
    expect(admin.get_by_label("Status", exact=True)).to_have_value("draft")


def test_a_customer_reaches_no_insights_but_downloads_their_conversation(new_context, app_server):
    context = new_context()
    customer = context.new_page()
    sign_up(customer, unique_name("ins"))
    ask(customer, QUESTION)
    expect(answers(customer)).to_have_count(1, timeout=20_000)
    chat_id = thread_id(customer)

    with customer.expect_download() as download:
        customer.get_by_role("link", name="Download conversation").click()
    transcript = Path(download.value.path()).read_text(encoding="utf-8")
    assert QUESTION in transcript
    assert re.search(r"\]\(http://localhost:\d+/help/[a-z0-9-]+", transcript), transcript[:400]

    customer.goto("/inbox/insights")
    customer.wait_for_url(at("/chat"))
    for path in ("/api/insights/conversations.csv?days=30", "/api/insights/feedback.csv?days=30"):
        assert context.request.get(f"{app_server.origin}{path}").status == 403

    stranger = new_context()
    sign_up(stranger.new_page(), unique_name("other"))
    transcript_url = f"{app_server.origin}/api/conversations/{chat_id}/transcript.md"
    assert stranger.request.get(transcript_url).status == 404

"""The public help centre and the source links under answers, in real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from pymongo import MongoClient

from chatapp.services.knowledge import DECLINE_TEXT
from tests.e2e.conftest import at, sign_up, unique_name

COVERED = "my card expired, where do I put in a new one?"  # from bench/kb_questions.json
COVERED_TITLE = "Updating your payment method and failed payments"
UNCOVERED = "What is the capital of Mongolia?"
THREAD_URL = re.compile(r"/chat/([0-9a-f]{16})/?$")


def ask(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def answer(page: Page):
    """The finished answer; waits for it, since the built-in responder streams at reading pace."""
    answers = page.locator(".message-assistant:not(.message-live)")
    expect(answers).to_have_count(1, timeout=20_000)
    return answers.first


def published(app_server) -> int:
    """Published articles now: the shipped ones, and any other tests have published."""
    db = MongoClient(app_server.env["MONGODB_URI"])[app_server.db_name]
    return db["kb_articles"].count_documents({"status": "published", "deleted_at": {"$exists": False}})


def test_help_centre_is_public_searchable_and_links_to_articles(page: Page, app_server):
    page.goto("/login")
    page.get_by_role("link", name="Help centre").click()
    page.wait_for_url(at("/help"))
    expect(page.get_by_role("heading", name="Integrations", level=2)).to_be_visible()
    expect(page.locator(".help-articles li")).to_have_count(published(app_server))
    expect(page.get_by_role("link", name="Connecting Salesforce")).to_be_visible()

    page.get_by_label("Search help articles").fill("salesforce")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/help/?\?q=salesforce$"))
    results = page.locator(".help-articles li")
    expect(results.first).to_have_text("Connecting Salesforce")
    results.first.get_by_role("link").click()
    page.wait_for_url(at("/help/salesforce-integration"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connecting Salesforce")
    expect(page.get_by_text(re.compile(r"^Integrations · Updated \d{1,2} \w+ \d{4}$"))).to_be_visible()
    expect(page.get_by_role("link", name="Ask the assistant")).to_have_attribute("href", "/chat")
    page.get_by_role("link", name="All help articles").click()
    page.wait_for_url(at("/help"))
    expect(page.locator(".help-articles li")).to_have_count(published(app_server))

    page.goto("/help?q=zzzqqq+xylophone")  # a shared search link
    expect(page.get_by_label("Search help articles")).to_have_value("zzzqqq xylophone")
    expect(page.get_by_text("No articles match “zzzqqq xylophone”")).to_be_visible()

    page.goto("/help/no-such-article")
    expect(page.get_by_role("heading", level=1)).to_have_text("Article not found")
    page.get_by_role("link", name="Browse all help articles").click()
    page.wait_for_url(at("/help"))


def test_an_answer_links_its_sources_and_keeps_them_after_a_reload(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    ask(page, COVERED)
    page.wait_for_url(THREAD_URL)
    thread_url = page.url
    sources = answer(page).get_by_role("group", name="Sources")
    expect(sources.get_by_role("link")).to_have_text([COVERED_TITLE])

    sources.get_by_role("link", name=COVERED_TITLE).click()
    page.wait_for_url(at("/help/update-payment-method"))
    expect(page.get_by_role("heading", level=1)).to_have_text(COVERED_TITLE)

    page.goto(thread_url)
    expect(answer(page).get_by_role("group", name="Sources").get_by_role("link")).to_have_text(
        [COVERED_TITLE])
    page.get_by_role("link", name="Help centre").click()
    page.wait_for_url(at("/help"))


def test_an_uncovered_question_is_declined_without_sources(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    ask(page, UNCOVERED)
    expect(answer(page).locator(".message-text")).to_have_text(DECLINE_TEXT)
    expect(answer(page).get_by_role("button", name="Yes, talk to a person")).to_be_visible()
    expect(page.locator(".message-sources")).to_have_count(0)
    page.reload()
    expect(answer(page).locator(".message-text")).to_have_text(DECLINE_TEXT)
    expect(page.locator(".message-sources")).to_have_count(0)

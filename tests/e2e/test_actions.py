"""Assistant actions in Chromium: the model's tool call (the dev fake model, which calls actions
as OpenRouter's models do, on a backend started with FAKE_LLM=1) runs the action once, shows its
card and result, and the answer goes on after it; an action that fails says so in a sentence; an
action that needs confirming waits for "Confirm"; another customer's order is never shown; and
with no key at all, the built-in responder offers the same action as a card with its field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect
from pymongo import MongoClient

from chatapp.actions.orders import demo_documents
from tests.e2e.conftest import answers, ask, make_admin, open_inbox, sign_up, thread_id, unique_name
from tests.e2e.deployment import Deployment, deployed

FINISHED = "Is there anything else I can help with?"  # how the fake model ends after a call


@pytest.fixture(scope="module")
def deployment(database, tmp_path_factory) -> Iterator[Deployment]:
    with deployed(database, tmp_path_factory.mktemp("actions"), "actions", [],
                  {"FAKE_LLM": "1"}) as deployment:
        yield deployment


@pytest.fixture
def customer(browser: Browser, deployment: Deployment) -> Iterator[tuple[Page, str]]:
    """A signed-up customer on the fake-model backend: their page and username."""
    context = browser.new_context(base_url=deployment.site)
    page = context.new_page()
    name = unique_name("act")
    sign_up(page, name)
    yield page, name
    context.close()


def _db(database: dict[str, str]):
    return MongoClient(database["MONGODB_URI"])[database["MONGODB_DB"]]


def _orders(database: dict[str, str], username: str) -> list[dict]:
    """The customer's demo orders, as the action will seed them (the same numbers every time)."""
    user = _db(database)["users"].find_one({"username": username})
    return demo_documents(str(user["_id"]), datetime.now(UTC))[0]


def test_the_models_tool_call_shows_its_card_and_the_answer_goes_on(customer, deployment):
    page, name = customer
    shipped = _orders(deployment.database, name)[1]
    ask(page, f"Where is my order {shipped['order_id']}?")
    answer = answers(page).first
    card = answer.get_by_role("region", name="Order status")
    expect(card.get_by_role("status")).to_have_text("Done", timeout=20_000)
    expect(card).to_contain_text(f"Order {shipped['order_id']} shipped with {shipped['carrier']}")
    expect(card.get_by_role("definition").filter(has_text=shipped["tracking"])).to_be_visible()
    expect(answer).to_contain_text(FINISHED)  # written after the result came back
    text = answer.inner_text()
    assert text.index("Let me look that up") < text.index("Tracking") < text.index(FINISHED)
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_be_visible()
    page.reload()  # stored: the same card, run once
    expect(answers(page).first.get_by_role("region", name="Order status")).to_have_count(1)
    cards = list(_db(deployment.database)["messages"].find({"chat_id": thread_id(page), "role": "action"}))
    assert [(c["status"], c["action"]["arguments"]) for c in cards] == [
        ("done", {"order_id": shipped["order_id"]})]
    assert cards[0]["action"]["duration_ms"] is not None


def test_another_customers_order_is_a_plain_sentence_and_the_answer_completes(
        customer, deployment, browser):
    page, _ = customer
    other_context = browser.new_context(base_url=deployment.site)
    other = other_context.new_page()
    other_name = unique_name("other")
    sign_up(other, other_name)
    theirs = _orders(deployment.database, other_name)[1]
    ask(other, f"Where is my order {theirs['order_id']}?")  # seeds the other customer's orders
    expect(answers(other).first.get_by_role("region", name="Order status")).to_contain_text(
        theirs["tracking"], timeout=20_000)
    other_context.close()

    ask(page, f"Where is my order {theirs['order_id']}?")
    answer = answers(page).first
    card = answer.get_by_role("region", name="Order status")
    expect(card.get_by_role("status")).to_have_text("Didn't work", timeout=20_000)
    expect(card).to_contain_text(f"I couldn't find order {theirs['order_id']} on your account.")
    expect(answer).to_contain_text(FINISHED)
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_be_visible()
    assert theirs["tracking"] not in page.content() and theirs["carrier"] not in answer.inner_text()


def test_resend_invoice_waits_for_confirm_and_cancel_leaves_it_undone(customer, deployment):
    page, name = customer
    outbox = _db(deployment.database)["demo_outbox"]
    user_id = str(_db(deployment.database)["users"].find_one({"username": name})["_id"])

    ask(page, "I never got my invoice, can you resend it?")
    card = answers(page).first.get_by_role("region", name="Resend invoice")
    expect(card.get_by_role("status")).to_have_text("Waiting for you", timeout=20_000)
    expect(answers(page).first).to_contain_text("Press Confirm above")
    assert outbox.count_documents({"customer_id": user_id}) == 0
    card.get_by_role("button", name="Cancel").click()
    expect(card.get_by_role("status")).to_have_text("Cancelled")
    expect(card.get_by_role("button", name="Confirm")).to_have_count(0)
    assert outbox.count_documents({"customer_id": user_id}) == 0

    ask(page, "Please resend my invoice again")
    card = answers(page).nth(1).get_by_role("region", name="Resend invoice")
    expect(card.get_by_role("button", name="Confirm")).to_be_visible(timeout=20_000)
    card.get_by_role("button", name="Confirm").click()
    expect(card.get_by_role("status")).to_have_text("Done")
    expect(card).to_contain_text(re.compile(r"Invoice INV-\d{6} \(\w+ \d{4}\) is on its way to a\*\*\*@"))
    page.reload()
    expect(answers(page).nth(1).get_by_role("region", name="Resend invoice").get_by_role("status")
           ).to_have_text("Done")
    assert outbox.count_documents({"customer_id": user_id}) == 1


def test_without_a_key_the_built_in_responder_offers_the_action(new_context, app_server):
    """The session's app has no key and no fake model: the knowledge-base responder answers."""
    page = new_context().new_page()
    name = unique_name("nokey")
    sign_up(page, name)
    ask(page, "Can you check the status of my order?")
    card = answers(page).first.get_by_role("region", name="Order status")
    form = card.get_by_role("form", name="Order status")
    expect(form).to_be_visible(timeout=20_000)
    database = {"MONGODB_URI": app_server.env["MONGODB_URI"], "MONGODB_DB": app_server.db_name}
    delivered = _orders(database, name)[0]
    form.get_by_label("Order number").fill("12")
    form.get_by_role("button", name="Check order status").click()
    expect(form.get_by_role("alert")).to_contain_text("valid order number")
    form.get_by_label("Order number").fill(delivered["order_id"].lower().replace("-", " "))
    form.get_by_role("button", name="Check order status").click()
    expect(card.get_by_role("status")).to_have_text("Done", timeout=10_000)
    expect(card).to_contain_text(f"Order {delivered['order_id']} was delivered on")

    ask(page, "agent please")  # the team reads the card, without its buttons
    chat_id = thread_id(page)
    admin = f"act_admin_{unique_name()}@example.com"
    make_admin(database, admin)
    agent = new_context().new_page()
    open_inbox(agent, admin)
    agent.goto(f"/inbox?c={chat_id}")
    seen = agent.get_by_role("region", name="Order status")
    expect(seen.get_by_role("status")).to_have_text("Done", timeout=15_000)
    expect(seen).to_contain_text(re.compile(r"Ran in \d+ ms"))
    expect(seen.get_by_role("button")).to_have_count(0)

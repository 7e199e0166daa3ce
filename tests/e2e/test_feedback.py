"""A customer's verdicts in the browser: thumbs on an answer (with reasons), "This solved my
problem", and the rating of the closed conversation; the team sees them."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect
from pymongo import MongoClient

from tests.e2e.conftest import QUESTION, answers, ask, make_admin, open_inbox, sign_up, thread_id, unique_name


def test_thumbs_down_with_a_reason_then_solved_and_rated(new_context, app_server):
    db = MongoClient(app_server.env["MONGODB_URI"])[app_server.db_name]
    customer = new_context().new_page()
    sign_up(customer, unique_name())
    ask(customer, QUESTION)
    chat_id = thread_id(customer)
    answer = answers(customer).first
    expect(answer).to_be_visible(timeout=20_000)
    other_tab = customer.context.new_page()
    other_tab.goto(f"/chat/{chat_id}")
    expect(answers(other_tab)).to_have_count(1)

    answer.get_by_role("button", name="Helpful", exact=True).click()
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
    answer.get_by_role("button", name="Not helpful").click()  # changed its mind
    form = answer.get_by_role("form", name="What was wrong with this answer?")
    form.get_by_label("Didn't answer my question").check()
    form.get_by_label("Tell us more").fill("I use single sign-on")
    form.get_by_role("button", name="Send feedback").click()
    expect(form).to_have_count(0)
    expect(answers(other_tab).first.get_by_role("button", name="Not helpful")).to_have_attribute(
        "aria-pressed", "true")  # live in the customer's other tab
    stored = db["messages"].find_one({"chat_id": chat_id, "role": "assistant"})
    assert (stored["feedback"], stored["feedback_reasons"]) == ("down", ["unanswered", "other"])
    assert stored["feedback_comment"] == "I use single sign-on" and stored["sources"]

    admin = f"fb_admin_{uuid.uuid4().hex[:8]}@example.com"
    make_admin({k: app_server.env[k] for k in ("MONGODB_URI", "MONGODB_DB")}, admin)
    agent = new_context().new_page()
    open_inbox(agent, admin)
    agent.goto(f"/inbox?c={chat_id}")
    expect(agent.get_by_text("The customer found this not helpful: Didn't answer my question, Other.")
           ).to_be_visible(timeout=10_000)

    customer.get_by_role("button", name="This solved my problem").click()
    expect(customer.get_by_role("status").filter(has_text="closed as solved")).to_be_visible()
    rating = customer.get_by_role("form", name="Rate this conversation")
    rating.get_by_label("4 Good").check()
    rating.get_by_label("Anything to add? (optional)").fill("Quick, thanks")
    rating.get_by_role("button", name="Send rating").click()
    expect(customer.get_by_role("status").filter(has_text="You rated this conversation 4 out of 5")
           ).to_be_visible()
    customer.reload()
    expect(customer.get_by_role("status").filter(has_text="You rated this conversation 4 out of 5")
           ).to_be_visible()
    thread = db["threads"].find_one({"_id": chat_id})
    assert (thread["status"], thread["closed_by"], thread["csat"], thread["csat_comment"]) == (
        "closed", "customer", 4, "Quick, thanks")

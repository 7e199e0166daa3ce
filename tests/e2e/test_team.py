"""The support team behind the assistant, in real Chromium with several people at once: a
customer (in two tabs) hands a conversation to the team, an agent takes it over, live."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from pymongo import MongoClient

from chatapp.state.inbox import InboxState
from chatapp.state.team import TeamState
from tests.e2e.conftest import (
    PASSWORD,
    answers,
    ask,
    at,
    log_in,
    make_admin,
    open_inbox,
    queue_row,
    sign_up,
    thread_id,
    unique_name,
)
from tests.socket_client import EventSocket, event_name

UNCOVERED = "What is the best lasagne recipe for a party of twelve?"
@pytest.fixture(scope="module")
def admin(app_server):
    email = f"admin_{uuid.uuid4().hex[:8]}@example.com"
    printed = make_admin({k: app_server.env[k] for k in ("MONGODB_URI", "MONGODB_DB")}, email)
    assert f"{email} is an admin" in printed
    return email


def invite_agent(admin_page: Page, browser_context) -> tuple[Page, str]:
    """The admin invites an agent from the team page; the agent joins through the link."""
    email = f"agent_{uuid.uuid4().hex[:8]}@example.com"
    admin_page.goto("/inbox/team")
    admin_page.get_by_label("Email to invite").fill(email)
    admin_page.get_by_role("button", name="Invite").click()
    link = admin_page.get_by_label("Invitation link")
    expect(link).to_contain_text("/welcome/")
    agent = browser_context.new_page()
    agent.goto(re.sub(r"^https?://[^/]+", "", link.inner_text()))
    name = unique_name("agent")
    agent.get_by_label("Username").fill(name)
    agent.get_by_label("Your name, as customers see it").fill("Alex")
    agent.get_by_label("Password").fill(PASSWORD)
    agent.get_by_role("button", name="Continue").click()
    agent.wait_for_url(at("/inbox"))
    return agent, name


def test_a_customer_hands_over_to_an_agent_who_replies_live_in_every_tab(new_context, admin):
    agent = new_context().new_page()
    open_inbox(agent, admin)
    waiting_before = queue_count(agent, "Waiting")

    customer = new_context()
    tab = customer.new_page()
    name = unique_name("cust")
    sign_up(tab, name)
    ask(tab, UNCOVERED)
    chat_id = thread_id(tab)
    expect(answers(tab)).to_have_count(1, timeout=20_000)
    second_tab = customer.new_page()
    second_tab.goto(f"/chat/{chat_id}")
    expect(answers(second_tab)).to_have_count(1)

    tab.get_by_role("button", name="Yes, talk to a person").click()  # the assistant's offer
    for page in (tab, second_tab):
        expect(page.get_by_role("status").filter(has_text="queue")).to_be_visible(timeout=10_000)
    expect(queue_row(agent, name)).to_be_visible(timeout=10_000)  # no reload
    expect(agent).to_have_title(re.compile(rf"^\({waiting_before + 1}\) Inbox"))
    queue_row(agent, name).click()
    summary = agent.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("lasagne", timeout=10_000)
    expect(summary).to_contain_text("could not answer")

    agent.get_by_role("button", name="Claim").click()
    for page in (tab, second_tab):
        expect(page.get_by_text(re.compile(r"from Support joined"))).to_be_visible(timeout=10_000)
    agent.get_by_label("Reply").fill("Hi, I'm Alex's colleague: a person, happy to help.")
    agent.get_by_role("button", name="Send reply").click()
    for page in (tab, second_tab):
        reply = page.locator(".message-agent")
        expect(reply).to_contain_text("happy to help", timeout=10_000)
        expect(reply.locator(".message-author")).to_contain_text("Support")

    ask(tab, "Great, can you send me the recipe by email?")
    expect(agent.locator(".message-user").last).to_contain_text("by email", timeout=10_000)
    expect(answers(tab)).to_have_count(1)  # the assistant stays quiet while a person has it
    agent.get_by_role("button", name="Close conversation").click()
    for page in (tab, second_tab):
        expect(page.get_by_role("status").filter(has_text="closed")).to_be_visible(timeout=10_000)

    ask(second_tab, "Sorry, one more question")  # writing reopens it, to the same agent
    for page in (tab, second_tab):
        expect(page.get_by_role("status").filter(has_text="is with you")).to_be_visible(timeout=10_000)
    agent.get_by_role("tab", name="Mine").click()
    expect(queue_row(agent, name)).to_be_visible()


def queue_count(page: Page, view: str) -> int:
    """The view's count, once the queue has loaded (its list has rows, or says it has none)."""
    tab = page.get_by_role("tab", name=view)
    expect(tab).to_be_visible()
    queue = page.get_by_role("list", name="Conversations")
    expect(queue.get_by_role("link").first.or_(page.get_by_text("Nothing here."))).to_be_visible()
    return int(tab.locator(".queue-count").inner_text())


def test_an_agent_reply_typed_while_the_network_is_down_is_sent_once(new_context, admin, app_server):
    customer = new_context(network_cuts=True).new_page()  # the cut reaches everyone behind the proxy
    name = unique_name("cust")
    sign_up(customer, name)
    ask(customer, "I'd like to talk to a person please")  # asking in words hands it over
    expect(customer.get_by_role("status").filter(has_text="queue")).to_be_visible(timeout=10_000)
    assert answers(customer).count() == 0

    agent = new_context(network_cuts=True).new_page()
    open_inbox(agent, admin)
    queue_row(agent, name).click()
    expect(agent.get_by_label("Reply")).to_be_visible()
    app_server.network.cut()
    try:
        expect(agent.get_by_text("Reconnecting…")).to_be_visible(timeout=10_000)
        agent.get_by_label("Reply").fill("On it, one moment.")
        agent.get_by_role("button", name="Send reply").click()
        expect(agent.locator(".message-pending")).to_contain_text("Waiting to send")
    finally:
        app_server.network.restore()
    expect(customer.locator(".message-agent")).to_have_count(1, timeout=20_000)
    expect(agent.locator(".message-pending")).to_have_count(0, timeout=20_000)
    customer.reload()
    expect(customer.locator(".message-agent")).to_have_text(re.compile("On it, one moment."))
    expect(customer.locator(".message-agent")).to_have_count(1)


def test_admins_invite_and_deactivate_agents_whose_open_tab_loses_access_at_once(
        new_context, admin, app_server):
    admin_page = new_context().new_page()
    open_inbox(admin_page, admin)
    agent, agent_name = invite_agent(admin_page, new_context())
    expect(agent.get_by_label("Signed in as")).to_have_text("Alex")
    admin_page.goto("/inbox/team")
    row = admin_page.get_by_role("row").filter(has_text="Alex")
    row.get_by_role("button", name="Deactivate Alex").click()
    expect(row.get_by_role("button", name="Reactivate Alex")).to_be_visible()
    agent.wait_for_url(at("/login"), timeout=15_000)  # its open inbox, at once
    log_in(agent, agent_name, PASSWORD)
    expect(agent.get_by_role("alert").filter(has_text="deactivated")).to_be_visible()


def test_customers_and_agents_are_refused_what_is_not_theirs(new_context, admin, app_server):
    db = MongoClient(app_server.env["MONGODB_URI"])[app_server.db_name]
    victim = new_context().new_page()
    victim_name = unique_name("victim")
    sign_up(victim, victim_name)
    ask(victim, "agent please")
    expect(victim.get_by_role("status").filter(has_text="queue")).to_be_visible(timeout=10_000)
    chat_id = thread_id(victim)

    intruder = new_context()
    page = intruder.new_page()
    sign_up(page, unique_name("intruder"))
    for path in ("/inbox", "/inbox/team", f"/inbox?c={chat_id}"):
        page.goto(path)
        page.wait_for_url(at("/chat"))
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in intruder.cookies())
    assert intruder.request.get(f"{app_server.origin}/api/inbox/events").status == 403
    members = list(db["users"].find({"role": {"$in": ["agent", "admin"]}}, {"_id": 1}))
    socket = EventSocket(app_server.url, cookie=cookie, origin=app_server.origin)
    try:
        for state, handler, payload in (
                (InboxState, "claim", {}), (InboxState, "close", {}), (InboxState, "hand_back", {}),
                (InboxState, "assign", {"user_id": str(members[0]["_id"])}), (InboxState, "suggest", {}),
                (InboxState, "search", {"form_data": {"q": victim_name}}),
                (InboxState, "reply", {"message": {"client_id": uuid.uuid4().hex, "chat_id": chat_id,
                                                   "text": "I am the agent now"}}),
                (TeamState, "invite", {"form_data": {"email": "mole@example.com", "role": "admin"}}),
                (TeamState, "deactivate", {"user_id": str(members[0]["_id"])})):
            socket.emit(event_name(state, handler), payload, path=f"/inbox?c={chat_id}")
        socket.read(3)
    finally:
        socket.close()
    thread = db["threads"].find_one({"_id": chat_id})
    assert thread["status"] == "waiting" and not thread.get("assignee")
    assert db["messages"].count_documents({"chat_id": chat_id, "role": "agent"}) == 0
    assert db["account_links"].count_documents({"email": "mole@example.com"}) == 0
    assert db["users"].find_one({"_id": members[0]["_id"]})["active"] is True
    assert not any(victim_name in frame for frame in socket.received)

    agent_page = new_context().new_page()  # an agent is not an admin
    admin_page = new_context().new_page()
    open_inbox(admin_page, admin)
    agent, _ = invite_agent(admin_page, agent_page.context)
    agent.goto("/inbox/team")
    agent.wait_for_url(at("/inbox"))

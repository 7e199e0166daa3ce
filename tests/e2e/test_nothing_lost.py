"""Nothing lost, in real Chromium with the network really cut (a proxy drops the sockets)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import answers, ask, at, sign_up, thread_id, unique_name

ANSWER_TIMEOUT = 30_000


def user_messages(page: Page):
    return page.locator(".message-user:not(.message-pending)")


def pending(page: Page):
    return page.locator(".message-pending")


def answered_thread(page: Page) -> str:
    """Sign up, ask one question, wait for its answer; the thread's id."""
    sign_up(page, unique_name())
    ask(page, "How do I reset my password?")
    chat_id = thread_id(page)
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)
    return chat_id


def test_messages_sent_offline_wait_then_go_once_each_in_order(new_context, app_server):
    network = app_server.network
    page = new_context(network_cuts=True).new_page()
    chat_id = answered_thread(page)

    network.cut()
    try:
        expect(page.get_by_text("Reconnecting…")).to_be_visible(timeout=10_000)
        questions = ["How do I port my number?", "What plans do you offer?", "Can I export call logs?"]
        for question in questions:
            ask(page, question)
        expect(pending(page)).to_have_count(3)
        expect(pending(page).first).to_contain_text("Waiting to send")
    finally:
        network.restore()

    expect(pending(page)).to_have_count(0, timeout=ANSWER_TIMEOUT)
    expect(answers(page)).to_have_count(4, timeout=ANSWER_TIMEOUT)
    expect(page.get_by_text("Reconnecting…")).to_have_count(0)

    page.goto(f"/chat/{chat_id}")
    expect(answers(page)).to_have_count(4, timeout=ANSWER_TIMEOUT)
    assert user_messages(page).all_inner_texts() == ["How do I reset my password?", *questions]
    roles = page.locator(".message:not(.message-pending)").evaluate_all(
        "nodes => nodes.map(node => node.dataset.role)")
    assert roles == ["user", "assistant"] * 4


def test_a_message_left_waiting_is_sent_once_when_the_app_is_opened_again(new_context, app_server):
    network = app_server.network
    context = new_context(network_cuts=True)
    page = context.new_page()
    chat_id = answered_thread(page)

    network.cut()
    try:
        expect(page.get_by_text("Reconnecting…")).to_be_visible(timeout=10_000)
        ask(page, "Do you integrate with Salesforce?")
        expect(pending(page)).to_contain_text("Waiting to send")
        page.close()
    finally:
        network.restore()

    page = context.new_page()
    page.goto(f"/chat/{chat_id}")
    expect(answers(page)).to_have_count(2, timeout=ANSWER_TIMEOUT)
    expect(pending(page)).to_have_count(0)
    page.reload()
    expect(answers(page)).to_have_count(2, timeout=ANSWER_TIMEOUT)
    assert user_messages(page).all_inner_texts() == [
        "How do I reset my password?", "Do you integrate with Salesforce?"]


def test_closing_the_tab_mid_answer_keeps_the_whole_answer(new_context):
    context = new_context()
    page = context.new_page()
    sign_up(page, unique_name())
    ask(page, "What plans and prices do you offer, and what does each include?")
    chat_id = thread_id(page)
    live = page.locator(".message-live .message-text")
    expect(live).to_be_visible(timeout=10_000)
    partial = len(live.inner_text())
    page.close()

    page = context.new_page()
    page.goto(f"/chat/{chat_id}")
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)
    expect(page.locator(".message-live")).to_have_count(0, timeout=ANSWER_TIMEOUT)
    answer = answers(page).first
    expect(answer.locator(".message-status")).to_have_count(0)  # complete: not stopped, not failed
    assert len(answer.locator(".message-text").inner_text()) > partial


def test_a_backend_restart_mid_answer_leaves_the_answer_or_a_retry(new_context, app_server):
    context = new_context(network_cuts=True)
    page = context.new_page()
    sign_up(page, unique_name())
    ask(page, "What plans and prices do you offer, and what does each include?")
    chat_id = thread_id(page)
    expect(page.locator(".message-live .message-text")).to_be_visible(timeout=10_000)
    app_server.stop()
    app_server.start()

    page.goto(f"/chat/{chat_id}")  # still logged in: sessions outlive the process
    expect(user_messages(page)).to_have_count(1)
    expect(page.locator(".message-live")).to_have_count(0, timeout=ANSWER_TIMEOUT)
    if answers(page).count() == 0:
        expect(page.get_by_role("status")).to_contain_text("interrupted")
        page.get_by_role("button", name="Retry").click()
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)
    page.reload()
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)


def test_a_database_outage_keeps_the_message_and_retry_sends_it_once(new_context, database):
    page = new_context(network_cuts=True).new_page()  # the live route answers 503 meanwhile
    chat_id = answered_thread(page)
    database.stop()
    try:
        ask(page, "Is my data backed up?")
        expect(page.get_by_role("status")).to_contain_text("could not be saved", timeout=20_000)
        expect(pending(page)).to_contain_text("Not sent")
    finally:
        database.start()
    pending(page).get_by_role("button", name="Retry").click()
    expect(pending(page)).to_have_count(0, timeout=ANSWER_TIMEOUT)
    expect(answers(page)).to_have_count(2, timeout=ANSWER_TIMEOUT)
    page.goto(f"/chat/{chat_id}")
    expect(answers(page)).to_have_count(2, timeout=ANSWER_TIMEOUT)
    assert user_messages(page).all_inner_texts() == ["How do I reset my password?", "Is my data backed up?"]


ANOTHER_TABS_MESSAGE = """([alive]) => {
  const now = Date.now();
  const owner = document.getElementById('composer-form').dataset.owner;
  localStorage.setItem('helpdesk-pages', JSON.stringify({other: alive ? now + 60000 : now - 60000}));
  localStorage.setItem(`helpdesk-outbox:${owner}`, JSON.stringify([{id: 'f00dfeedf00dfeedf00dfeedf00dfeed',
    text: 'How do I port my number?', chat: '0123456789abcdef', draft: true, state: 'waiting',
    page: 'other', at: now, sent: true}]));
}"""


def test_another_open_tabs_message_is_left_to_it_until_that_tab_is_gone(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    expect(page.get_by_label("Message")).to_be_visible()
    page.evaluate(ANOTHER_TABS_MESSAGE, [True])  # in flight in another tab that is still open
    page.reload()
    page.wait_for_timeout(4_000)  # several outbox checks
    expect(pending(page)).to_have_count(0)
    expect(page.locator(".message-user")).to_have_count(0)
    assert page.url.rstrip("/").endswith("/chat")

    expect(page.get_by_label("Message")).to_be_visible()
    page.evaluate(ANOTHER_TABS_MESSAGE, [False])  # that tab closed without hearing back
    page.reload()
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)
    expect(user_messages(page)).to_have_text(["How do I port my number?"])
    thread_id(page)


def test_a_message_sent_offline_in_a_new_chat_is_answered_in_the_tab_that_sent_it(
        new_context, app_server):
    network = app_server.network
    page = new_context(network_cuts=True).new_page()
    sign_up(page, unique_name())
    expect(page.get_by_label("Message")).to_be_visible()
    network.cut()
    try:
        expect(page.get_by_text("Reconnecting…")).to_be_visible(timeout=10_000)
        ask(page, "How do I port my number?")
        expect(pending(page)).to_contain_text("Waiting to send")
    finally:
        network.restore()
    chat_id = thread_id(page)  # the new thread's address, in this same tab
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)
    expect(user_messages(page)).to_have_text(["How do I port my number?"])
    expect(pending(page)).to_have_count(0)
    expect(page.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(1)
    page.reload()
    expect(page).to_have_url(at(f"/chat/{chat_id}"))
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)
    expect(user_messages(page)).to_have_text(["How do I port my number?"])

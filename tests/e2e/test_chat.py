"""The chat, in real Chromium: streaming, thread links, isolation, Stop, safe Markdown, sidebar."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import (
    QUESTION,
    RECORD_LENGTHS,
    answers,
    ask,
    at,
    sidebar_threads,
    sign_up,
    thread_id,
    unique_name,
)


def test_answer_streams_in_and_the_thread_has_its_own_link(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    page.evaluate(RECORD_LENGTHS)
    ask(page, QUESTION)
    expect(page.locator(".message-user")).to_have_text(QUESTION)
    chat_id = thread_id(page)
    expect(answers(page)).to_have_count(1, timeout=20_000)
    final = answers(page).first.locator(".message-text").inner_text()  # the answer, not its Sources
    assert "password" in final.lower()
    lengths = sorted(set(page.evaluate("window.__lengths")) - {0})
    assert len(lengths) >= 3, f"saw only {lengths} while streaming"
    expect(sidebar_threads(page)).to_contain_text(QUESTION)

    page.reload()
    expect(page).to_have_url(at(f"/chat/{chat_id}"))
    expect(page.locator(".message-user")).to_have_text(QUESTION)
    expect(answers(page)).to_have_count(1)
    assert answers(page).first.locator(".message-text").inner_text() == final


RECORD_HIDDEN = """
() => {
  window.__hidden = [];
  new MutationObserver(() => {
    const live = document.querySelector('.message-live[data-unrevealed]');
    if (live) window.__hidden.push(Number(live.dataset.unrevealed));
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-unrevealed']});
}
"""


def test_the_answer_is_revealed_word_by_word_unless_the_reader_prefers_reduced_motion(new_context):
    for motion in ("no-preference", "reduce"):
        page = new_context().new_page()
        page.emulate_media(reduced_motion=motion)
        sign_up(page, unique_name())
        page.evaluate(RECORD_HIDDEN)
        ask(page, QUESTION)
        expect(answers(page)).to_have_count(1, timeout=20_000)
        hidden = page.evaluate("window.__hidden")
        if motion == "reduce":
            assert hidden == [], "with reduced motion, arrived text shows at once"
        else:  # arrived words wait for their frame, a few at a time
            assert hidden and max(hidden) > 0, hidden
        expect(page.locator("[data-unrevealed]")).to_have_count(0)
        assert page.evaluate("CSS.highlights.get('helpdesk-unrevealed').size") == 0


def test_another_user_gets_not_found_for_the_same_link(new_context):
    owner = new_context().new_page()
    sign_up(owner, unique_name())
    ask(owner, QUESTION)
    chat_id = thread_id(owner)
    expect(answers(owner)).to_have_count(1, timeout=20_000)

    stranger = new_context().new_page()
    sign_up(stranger, unique_name())
    stranger.goto(f"/chat/{chat_id}")
    expect(stranger.get_by_role("heading", name="Conversation not found")).to_be_visible()
    expect(stranger.get_by_text(QUESTION)).to_have_count(0)
    stranger.goto("/chat/0123456789abcdef")
    expect(stranger.get_by_role("heading", name="Conversation not found")).to_be_visible()


def test_stop_keeps_the_partial_answer_marked_stopped(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    ask(page, "What plans and prices do you offer, and what does each include?")
    expect(page.locator(".message-live .message-text")).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="Stop").click()
    stopped = answers(page).first
    expect(stopped.locator(".message-status")).to_have_text("Stopped")
    partial = stopped.locator(".message-text").inner_text()
    assert partial.strip()
    page.reload()
    expect(answers(page).first.locator(".message-status")).to_have_text("Stopped")
    assert answers(page).first.locator(".message-text").inner_text() == partial


def test_html_in_a_message_shows_as_text_and_runs_nothing(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    attack = '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2">'
    ask(page, attack)
    expect(page.locator(".message-user")).to_contain_text("<script>window.__pwned = 1</script>")
    expect(page.locator(".message-user")).to_contain_text('<img src=x onerror=')
    expect(answers(page)).to_have_count(1, timeout=20_000)
    page.reload()
    expect(page.locator(".message-user")).to_contain_text("<script>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".message-user img").count() == 0


def test_empty_and_overlong_messages_are_not_sent(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    ask(page, "   ")
    expect(page.get_by_role("status")).to_have_text("Type a message first.")
    ask(page, "x" * 4001)
    expect(page.get_by_role("status")).to_contain_text("at most 4,000 characters")
    refused = page.locator(".message-pending")  # kept in the outbox, marked, never stored
    expect(refused).to_contain_text("Not sent: Messages can be at most 4,000 characters")
    expect(page.locator(".message-user:not(.message-pending)")).to_have_count(0)
    refused.get_by_role("button", name="Delete").click()
    expect(refused).to_have_count(0)
    page.reload()
    expect(page.get_by_label("Message")).to_be_visible()
    expect(page.locator(".message-user")).to_have_count(0)
    expect(sidebar_threads(page)).to_have_count(0)


def test_rename_delete_and_clear_history_survive_a_reload(new_context):
    page = new_context().new_page()
    sign_up(page, unique_name())
    for question in ("How do I reset my password?", "How do I port my number?"):
        page.goto("/chat")
        ask(page, question)
        thread_id(page)
        expect(answers(page)).to_have_count(1, timeout=20_000)
    threads = sidebar_threads(page)
    expect(threads).to_have_count(2)
    expect(threads.first).to_contain_text("port my number")  # newest activity first

    threads.first.get_by_role("button", name="Rename").click()
    page.get_by_label("Title").fill("Porting question")
    page.get_by_role("button", name="Save").click()
    expect(threads.first).to_contain_text("Porting question")
    page.reload()
    expect(sidebar_threads(page).first).to_contain_text("Porting question")

    sidebar_threads(page).filter(has_text="reset my password").get_by_role(
        "button", name="Delete").click()
    expect(sidebar_threads(page)).to_have_count(1)
    page.reload()
    expect(sidebar_threads(page)).to_have_count(1)

    page.get_by_role("button", name="Clear all history").click()
    page.get_by_role("button", name="Delete everything").click()
    expect(sidebar_threads(page)).to_have_count(0)
    page.reload()
    expect(sidebar_threads(page)).to_have_count(0)

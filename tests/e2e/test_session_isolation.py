"""One browser, two people: what the first leaves behind (the tab's server state, the outbox)
must never reach the second, in real Chromium."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from chatapp.state.chat import ChatState
from tests.e2e.conftest import answers, ask, at, log_in, sidebar_threads, sign_up, thread_id, unique_name
from tests.socket_client import EventSocket, event_name

SECRET_TITLE = "My secret invoice question"


def test_a_new_user_on_the_same_tab_never_sees_the_last_ones_state(new_context, app_server):
    context = new_context()
    page = context.new_page()
    first = unique_name("first")
    sign_up(page, first)
    ask(page, SECRET_TITLE)
    thread_id(page)
    expect(answers(page)).to_have_count(1, timeout=20_000)
    expect(sidebar_threads(page)).to_contain_text(SECRET_TITLE)
    tab_token = page.evaluate("window.sessionStorage.getItem('token')")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(at("/login"))
    # The tab's state, asked for with the tab's own token and no session at all:
    socket = EventSocket(app_server.url, token=tab_token, origin=app_server.origin)
    try:
        socket.emit(event_name(ChatState, "load"), {})
        socket.read(2)
    finally:
        socket.close()
    assert socket.received and not any(SECRET_TITLE in frame for frame in socket.received)

    second = unique_name("second")  # the next person, in the very same tab
    page.goto("/signup")
    page.get_by_label("Username").fill(second)
    page.get_by_label("Email").fill(f"{second}@example.com")
    page.get_by_label("Password").fill("correct horse")
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(at("/chat"))
    expect(page.get_by_label("Signed in as")).to_have_text(second)
    expect(page.get_by_label("Message")).to_be_visible()
    expect(sidebar_threads(page)).to_have_count(0)
    assert not any(SECRET_TITLE in frame for frame in frames)
    assert SECRET_TITLE not in page.content()
    # And the second person's session on the first one's tab token, over a raw socket:
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    socket = EventSocket(app_server.url, cookie=cookie, token=tab_token, origin=app_server.origin)
    try:
        socket.emit(event_name(ChatState, "load"), {})
        socket.read(2)
    finally:
        socket.close()
    assert socket.received and not any(SECRET_TITLE in frame for frame in socket.received)


def test_unsent_messages_belong_to_their_author_and_log_out_says_so(new_context):
    context = new_context()
    page = context.new_page()
    author = unique_name("author")
    sign_up(page, author)
    ask(page, "x" * 4001)  # refused: kept in the outbox, marked, never stored
    expect(page.locator(".message-pending")).to_contain_text("Not sent")

    page.get_by_role("button", name="Log out").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("1 message is still waiting to be sent")
    dialog.get_by_role("button", name="Log out anyway").click()
    page.wait_for_url(at("/login"))
    outbox = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('helpdesk-outbox:'))")
    assert len(outbox) == 1  # kept, under its author's key

    other = unique_name("other")
    sign_up(page, other)
    expect(page.get_by_label("Message")).to_be_visible()
    expect(page.locator(".message-pending")).to_have_count(0)
    expect(sidebar_threads(page)).to_have_count(0)
    page.get_by_role("button", name="Log out").click()  # nothing of theirs waits: no question
    page.wait_for_url(at("/login"))

    log_in(page, author)
    page.wait_for_url(at("/chat"))
    expect(page.locator(".message-pending")).to_contain_text("Not sent")  # back for its author
    raw = page.evaluate(f"localStorage.getItem({json.dumps(outbox[0])})")
    assert "x" * 100 in raw


def test_a_message_typed_offline_is_kept_for_its_author_and_sent_when_they_return(
        new_context, app_server):
    network = app_server.network
    context = new_context(network_cuts=True)
    page = context.new_page()
    author = unique_name("author")
    sign_up(page, author)
    expect(page.get_by_label("Message")).to_be_visible()
    network.cut()
    try:
        expect(page.get_by_text("Reconnecting…")).to_be_visible(timeout=10_000)
        ask(page, "Do you integrate with Zoho?")
        expect(page.locator(".message-pending")).to_contain_text("Waiting to send")
        page.close()
    finally:
        network.restore()

    page = context.new_page()
    page.goto("/login")
    context.request.post(f"{app_server.origin}/api/auth/logout")  # the author leaves
    other = unique_name("other")
    sign_up(page, other)
    expect(page.get_by_label("Message")).to_be_visible()
    page.wait_for_timeout(3_000)  # several outbox checks: nothing of the author's may go out here
    expect(page.locator(".message-pending")).to_have_count(0)
    expect(sidebar_threads(page)).to_have_count(0)
    page.reload()
    expect(sidebar_threads(page)).to_have_count(0)

    context.request.post(f"{app_server.origin}/api/auth/logout")
    page.close()  # it would leave for /login by itself once it sees the session end
    page = context.new_page()
    log_in(page, author)
    page.wait_for_url(at("/chat"))
    expect(answers(page)).to_have_count(1, timeout=30_000)  # sent for its author, answered once
    expect(page.locator(".message-user:not(.message-pending)")).to_have_text(["Do you integrate with Zoho?"])
    thread_id(page)
    expect(sidebar_threads(page)).to_have_count(1)

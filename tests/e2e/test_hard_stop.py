"""A hard stop mid-answer (SIGKILL: a crash, an out-of-memory kill, `docker stop` running out of
patience) loses at most about a second of the answer: after the restart the page shows what was
written, marked "Interrupted", with Retry. The app here answers through a slow fake OpenRouter
(a 20 s answer), behind the cutting proxy, in a build directory of its own."""

from __future__ import annotations

import os
import re
import signal
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import answers, ask, sign_up, thread_id, unique_name
from tests.fakes.fake_openrouter import FakeOpenRouter, make_text
from tests.servers import ROOT, AppServer, free_port, port_open, wait_for
from tests.tcp_proxy import TcpProxy

CHARS = 4000  # in 8-character chunks every 40 ms: 20 s


@pytest.fixture(scope="module")
def slow_app(database, tmp_path_factory):
    fake = FakeOpenRouter(text=make_text(CHARS), chunk_size=8, delay=0.04).start()
    proxy_port = free_port()
    origin = f"http://localhost:{proxy_port}"
    app = AppServer({
        "API_URL": origin, "FRONTEND_ORIGINS": origin, "MONGODB_URI": database.uri,
        "MONGODB_DB": f"hard_{uuid.uuid4().hex[:8]}", "JWT_SECRET": "hard-" + "x" * 43,
        "TRUSTED_PROXY_HOPS": "1", "OPEN_ROUTER": "test-key", "OPENROUTER_BASE_URL": fake.base_url,
        "OPENROUTER_MODELS": "fake/model", "REFLEX_WEB_WORKDIR": str(tmp_path_factory.mktemp("web")),
    }, ROOT / "test-results" / "hard-stop.log").start()
    app.network = TcpProxy(proxy_port, app.port).start()
    app.origin = origin
    yield app
    app.stop()
    fake.stop()


def kill(app: AppServer) -> None:
    """SIGKILL the whole app: nothing gets a chance to store anything."""
    os.killpg(app.process.pid, signal.SIGKILL)
    app.process.wait(10)
    app.process = None
    wait_for(lambda: not port_open(app.port), 20, "the app's port to close")


def test_a_killed_answer_keeps_what_was_written_and_offers_retry(browser, slow_app):
    context = browser.new_context(base_url=slow_app.origin)
    page = context.new_page()
    sign_up(page, unique_name())
    ask(page, "What plans and prices do you offer, and what does each include?")
    chat_id = thread_id(page)
    live = page.locator(".message-live .message-text")
    expect(live).to_be_visible(timeout=15_000)
    expect(live).to_have_text(re.compile(r"^[\s\S]{1500,}"), timeout=30_000)  # no page script: the CSP
    seen = len(live.inner_text())
    kill(slow_app)
    slow_app.start()

    page.goto(f"/chat/{chat_id}")
    interrupted = answers(page).first
    expect(interrupted.locator(".message-status")).to_contain_text("Interrupted", timeout=30_000)
    kept = len(interrupted.locator(".message-text").inner_text())
    print(f"seen {seen} characters before the kill, {kept} kept after it")
    assert kept >= seen - 400  # at most about a second (200 characters a second) lost
    interrupted.get_by_role("button", name="Retry").click()  # written again, in the same place
    expect(page.locator(".message-live")).to_have_count(1, timeout=15_000)
    expect(page.locator(".message-live")).to_have_count(0, timeout=60_000)
    expect(answers(page)).to_have_count(1)
    assert answers(page).first.locator(".message-status").all_inner_texts() == []
    assert len(answers(page).first.locator(".message-text").inner_text()) > kept
    context.close()

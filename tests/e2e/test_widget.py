"""The website widget, for real: a company's site on another origin (127.0.0.1) embeds Helpdesk
(localhost) with its one script line, in Chromium with third-party cookies blocked.

Playwright launches Chromium with third-party storage partitioning switched off, unlike a
user's Chrome (where a frame from another site gets storage of its own), and without it a
third-party frame may not use storage at all. The browser here is launched the way Chrome ships:
Playwright's switches, minus that one.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from chatapp.services.guests import identity_hash
from tests.e2e.conftest import (
    CHROMIUM_ARGS,
    EXPECTED_CONSOLE,
    PASSWORD,
    WIDGET_SECRET,
    at,
    log_in,
    make_admin,
    open_inbox,
    unique_name,
)
from tests.e2e.widget_host import Site

# Playwright 1.65's --disable-features list (chromiumSwitches.ts), minus ThirdPartyStoragePartitioning.
PLAYWRIGHT_DISABLED = [
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin",
    "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
    "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion"]
QUESTION = "How do I reset my password?"


@pytest.fixture(scope="module")
def chrome(playwright: Playwright) -> Iterator[Browser]:
    """Chromium as users run it: third-party frames get partitioned storage."""
    kept = ",".join(f for f in PLAYWRIGHT_DISABLED if f != "ThirdPartyStoragePartitioning")
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, f"--disable-features={kept}"],
        ignore_default_args=["--disable-features=" + ",".join(PLAYWRIGHT_DISABLED)])
    yield browser
    browser.close()


@pytest.fixture
def site(app_server) -> Iterator[Site]:
    site = Site(port=app_server.host_port).start()  # the one site WIDGET_ALLOWED_ORIGINS lists
    yield site
    site.stop()


@pytest.fixture
def visitors(chrome: Browser) -> Iterator:
    """Fresh visitors (contexts) of the company's site; any console error fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make() -> BrowserContext:
        context = chrome.new_context()
        context.on("console", lambda m: m.type == "error" and not EXPECTED_CONSOLE.search(m.text)
                   and "favicon" not in (m.location.get("url") or "") and errors.append(m.text))
        context.on("weberror", lambda error: errors.append(str(error.error)))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"browser console errors: {errors}"


def company_page(app_server, site: Site, identify: dict | None = None, name: str = "/") -> str:
    """The company's page with the widget's one line (and, for a logged-in user, identify)."""
    queued = ""
    if identify is not None:
        queued = ("<script>window.Helpdesk = window.Helpdesk || {q: []};"
                  f"Helpdesk.q.push(['identify', {identify!r}]);</script>".replace("'", '"'))
    return site.page(name, f"""<!doctype html><html><head><meta charset="utf-8"><title>Acme</title>
{queued}</head><body><h1>Acme Dental Supplies</h1>
<script src="{app_server.origin}/widget.js" async></script></body></html>""")


def open_widget(page: Page, url: str):
    page.goto(url)
    page.get_by_role("button", name="Chat with us").click()
    frame = page.frame_locator("iframe[title='Support chat']")
    expect(frame.get_by_role("button", name="Send", exact=True)).to_be_enabled(timeout=20_000)
    return frame


def ask_in(frame, text: str) -> None:
    frame.get_by_label("Message").fill(text)
    frame.get_by_role("button", name="Send", exact=True).click()


def widget_answers(frame):
    return frame.locator(".message-assistant:not(.message-live)")


def test_a_guest_chats_in_the_widget_comes_back_to_it_and_reaches_the_team(
        visitors, site, app_server, new_context):
    page = visitors().new_page()
    frame = open_widget(page, company_page(app_server, site))
    ask_in(frame, QUESTION)
    expect(widget_answers(frame)).to_have_count(1, timeout=20_000)  # streamed, then stored
    sources = widget_answers(frame).first.get_by_role("group", name="Sources").get_by_role("link")
    expect(sources).to_have_text(["Resetting your password"])
    assert sources.first.get_attribute("target") == "_blank"  # the help centre, in a new tab
    cookies = page.context.cookies()
    assert [c.get("partitionKey") for c in cookies if c["name"].endswith("_widget")] == ["http://127.0.0.1"]

    frame = open_widget(page, page.url)  # the host page again (a reload, a later visit)
    expect(frame.locator(".message-user")).to_have_text([QUESTION])
    expect(widget_answers(frame)).to_have_count(1)
    frame.get_by_role("button", name="Talk to a person").click()
    expect(frame.get_by_role("status").filter(has_text="queue")).to_be_visible(timeout=10_000)

    admin = f"admin_{uuid.uuid4().hex[:8]}@example.com"
    make_admin({k: app_server.env[k] for k in ("MONGODB_URI", "MONGODB_DB")}, admin)
    agent = new_context().new_page()
    open_inbox(agent, admin)
    row = agent.get_by_role("list", name="Conversations").get_by_role("link").filter(has_text=QUESTION)
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator(".queue-guest")).to_have_text("Guest")

    # On another page of the site, the chat closed: the team's reply raises the launcher's badge.
    page.goto(page.url + "?page=2")
    expect(page.get_by_role("button", name="Chat with us")).to_be_visible()
    row.click()
    agent.get_by_role("button", name="Claim").click()
    agent.get_by_label("Reply").fill("Hi, a person here: happy to help.")
    agent.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("img", name=re.compile(r"^\d+ unread messages?$"))).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="Chat with us").click()
    frame = page.frame_locator("iframe[title='Support chat']")
    expect(frame.locator(".message-agent")).to_contain_text("happy to help")


def test_identify_with_a_valid_signature_shows_that_customers_history_and_a_wrong_one_none(
        visitors, site, app_server):
    user_id = f"acme-{uuid.uuid4().hex[:8]}"
    good = {"user_id": user_id, "email": f"{user_id}@acme.example", "name": "Ana",
            "user_hash": identity_hash(WIDGET_SECRET, user_id)}
    frame = open_widget(visitors().new_page(), company_page(app_server, site, good, "/account"))
    ask_in(frame, QUESTION)
    expect(widget_answers(frame)).to_have_count(1, timeout=20_000)

    elsewhere = visitors().new_page()  # the same customer, another browser
    frame = open_widget(elsewhere, company_page(app_server, site, good, "/account"))
    expect(frame.locator(".message-user")).to_have_text([QUESTION], timeout=15_000)

    forged = {**good, "user_hash": identity_hash("not-the-secret", user_id)}
    intruder = visitors().new_page()
    frame = open_widget(intruder, company_page(app_server, site, forged, "/forged"))
    expect(frame.get_by_text("You're chatting as a guest")).to_be_visible()
    expect(frame.locator(".message-user")).to_have_count(0)
    expect(frame.get_by_role("button", name="Past conversations")).to_have_count(0)


def logged(page: Page, console: list[str], text: str, timeout: float = 20) -> None:
    """Wait until the page has logged `text`; Playwright delivers console events only while it
    is waiting on the page, so this waits with the page rather than with time.sleep."""
    deadline = time.monotonic() + timeout
    while not any(text in line for line in console):
        assert time.monotonic() < deadline, f"the page never logged {text!r}: {console}"
        page.wait_for_timeout(100)


def test_a_site_that_is_not_listed_gets_no_launcher_and_cannot_frame_the_chat(chrome, app_server):
    other = Site().start()  # any port but the listed one
    context = chrome.new_context()  # the refusals are console messages: collected, not failures
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(other.page("/", f'<script src="{app_server.origin}/widget.js" async></script>'
                                  f'<iframe title="direct" src="{app_server.origin}/widget/"></iframe>'))
        logged(page, console, "frame-ancestors")  # the browser refused the frame
        logged(page, console, "Helpdesk widget: ")  # the loader says why it shows nothing
        expect(page.get_by_role("button", name="Chat with us")).to_have_count(0)
        assert page.frame_locator("iframe[title='direct']").locator("textarea").count() == 0
    finally:
        context.close()
        other.stop()


def test_a_guest_who_signs_up_in_the_widget_finds_the_conversation_in_the_account_once(
        visitors, site, app_server, new_context):
    page = visitors().new_page()
    frame = open_widget(page, company_page(app_server, site, name="/shop"))
    ask_in(frame, QUESTION)
    expect(widget_answers(frame)).to_have_count(1, timeout=20_000)
    frame.get_by_role("link", name="Sign up or log in").click()
    name = unique_name("joined")
    frame.get_by_label("Username").fill(name)
    frame.get_by_label("Email").fill(f"{name}@example.com")
    frame.get_by_label("Password").fill(PASSWORD)
    frame.get_by_role("button", name="Sign up").click()
    expect(frame.locator(".message-user")).to_have_text([QUESTION], timeout=20_000)  # moved with them
    expect(frame.get_by_text("You're chatting as a guest")).to_have_count(0)

    own_site = new_context().new_page()  # the account, on Helpdesk itself
    log_in(own_site, name, PASSWORD)
    own_site.wait_for_url(at("/chat"))
    threads = own_site.get_by_role("list", name="Conversations").get_by_role("listitem")
    expect(threads).to_have_text([re.compile(re.escape(QUESTION))])
    frame = open_widget(page, page.url)  # and again in the widget: still one, not two
    expect(frame.locator(".message-user")).to_have_text([QUESTION])
    own_site.reload()
    expect(threads).to_have_count(1)

"""The embeddable chat widget's loader (assets/widget.js) on a company's page, in real Chromium.

A fake Helpdesk (http://localhost:P1: widget.js, a stub config route and a stub chat frame) and the
company's site (http://127.0.0.1:P2) are two origins on loopback (tests/e2e/widget_host.py). These
tests do not start the app. Any console error fails a test (except the 403 a refused site's
config check gets, where a test expects it); console warnings are collected and checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Page, expect

from tests.e2e.widget_host import FakeHelpdesk, Site, host_page

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 3}
IDLE = "new Promise((done) => requestIdleCallback(() => requestIdleCallback(done)))"
# The chat frame is cross-origin and often hidden, where Chromium runs no requestAnimationFrame
# (Playwright's default polling): poll it on a timer.
FRAME_POLL = 50
AFTER_LOAD_AND_IDLE = ("new Promise((done) => document.readyState === 'complete' ? done()"
                       " : addEventListener('load', done)).then(() => " + IDLE + ")")


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def helpdesk() -> Iterator[FakeHelpdesk]:
    server = FakeHelpdesk().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def allowed(helpdesk: FakeHelpdesk, site: Site) -> None:
    """By default the company's site (and the Helpdesk itself, for its demo page) is allowed."""
    helpdesk.allowed = {site.origin, helpdesk.origin}
    helpdesk.refused_status = 403
    helpdesk.config_body = None


@pytest.fixture
def new_context(browser: Browser):
    """Browser contexts whose console errors fail the test; `allow` exempts expected ones."""
    made: list[tuple[BrowserContext, Console]] = []

    def make(allow: re.Pattern[str] | None = None, **options) -> tuple[BrowserContext, Console]:
        context = browser.new_context(**({"viewport": DESKTOP} | options))
        console = Console()

        def on_console(message) -> None:
            if message.type == "error" and not (allow and allow.search(message.text)):
                console.errors.append(message.text)
            elif message.type == "warning":
                console.warnings.append(message.text)

        context.on("console", on_console)
        context.on("weberror", lambda error: console.errors.append(str(error.error)))
        made.append((context, console))
        return context, console

    yield make
    for context, _ in made:
        context.close()
    errors = [error for _, console in made for error in console.errors]
    assert not errors, f"browser console errors: {errors}"


def launcher(page: Page):
    return page.get_by_role("button", name="Chat with us", exact=True)


def chat_iframe(page: Page):
    return page.locator("helpdesk-widget iframe")


def chat_frame(page: Page) -> Frame:
    """The chat frame's page, once its script has run."""
    frame = chat_iframe(page).element_handle().content_frame()
    frame.wait_for_function("typeof received !== 'undefined'", polling=FRAME_POLL)
    return frame


def event_names(page: Page) -> list[str]:
    return page.evaluate("events.map((event) => event[0])")


def wait_for_event(page: Page, name: str, count: int = 1) -> None:
    page.wait_for_function(f"events.filter((event) => event[0] === {name!r}).length >= {count}")


def last_received(frame: Frame, kind: str) -> None:
    frame.wait_for_function(f"received.length > 0 && received.at(-1).type === {kind!r}", polling=FRAME_POLL)


def wait_for_box(locator, box: dict[str, float]) -> None:
    """Until the element's layout box (after any transition) is `box`."""
    locator.page.wait_for_function(
        """([el, box]) => { const r = el.getBoundingClientRect();
            return Object.keys(box).every((key) => Math.abs(r[key] - box[key]) < 0.5); }""",
        arg=[locator.element_handle(), box])


def open_site(page: Page, site: Site, path: str, html: str) -> None:
    page.goto(site.page(path, html))


def test_the_launcher_opens_the_chat_and_the_frame_closes_it(new_context, helpdesk, site):
    context, console = new_context()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_site(page, site, "/basic.html", host_page(helpdesk.script_url, 'data-preload="false"'))

    button = launcher(page)
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    box = button.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    assert 1280 - 40 <= box["x"] + box["width"] <= 1280 and 800 - 40 <= box["y"] + box["height"] <= 800
    expect(page.get_by_text("Hi! Ask us anything.")).to_be_visible()  # the config's greeting

    # With data-preload="false" nothing but the script and the config check loads before a click.
    page.evaluate(AFTER_LOAD_AND_IDLE)
    expect(chat_iframe(page)).to_have_count(0)
    assert [url for url in requests if url.startswith(helpdesk.origin)] == [
        helpdesk.script_url, f"{helpdesk.origin}/api/widget/config"]
    assert helpdesk.hits("/api/widget/config")[-1]["origin"] == site.origin

    button.click()
    iframe = chat_iframe(page)
    expect(iframe).to_be_visible()
    expect(iframe).to_have_attribute("src", f"{helpdesk.origin}/widget/?host={quote(site.origin, safe='')}")
    expect(iframe).to_have_attribute("title", "Support chat")
    expect(iframe).to_have_attribute("allow", "clipboard-write")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_text("Hi! Ask us anything.")).to_be_hidden()
    wait_for_event(page, "ready")
    frame = chat_frame(page)
    last_received(frame, "opened")
    frame.wait_for_function("document.hasFocus()", polling=FRAME_POLL)  # focus moved into the chat
    wait_for_box(iframe, {"x": 1280 - 20 - 380, "y": 800 - 88 - 600, "width": 380, "height": 600})
    page.mouse.move(0, 0)  # not hovering (the launcher grows on hover)
    wait_for_box(button, {"x": 1280 - 20 - 56, "y": 800 - 20 - 56, "width": 56, "height": 56})
    assert iframe.evaluate("(el) => getComputedStyle(el).borderRadius") == "16px"

    frame.get_by_role("button", name="Close chat").click()
    expect(iframe).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    last_received(frame, "closed")
    assert event_names(page) == ["opened", "ready", "closed"]

    button.click()  # the launcher toggles
    expect(iframe).to_be_visible()
    last_received(frame, "opened")
    button.click()
    expect(iframe).to_be_hidden()
    last_received(frame, "closed")

    button.click()  # Escape on the host page closes; focus on the page's own element stays there
    expect(iframe).to_be_visible()
    page.locator("#own-button").focus()
    page.keyboard.press("Escape")
    expect(iframe).to_be_hidden()
    expect(page.locator("#own-button")).to_be_focused()
    assert event_names(page) == ["opened", "ready", "closed", "opened", "closed", "opened", "closed"]
    assert frame.evaluate("received.map((m) => m.type)") == ["opened", "closed", "opened", "closed",
                                                             "opened", "closed"]
    assert console.warnings == []


def test_unread_count_from_the_frame_shows_a_badge_and_fires_unread(new_context, helpdesk, site):
    context, _ = new_context()
    page = context.new_page()
    open_site(page, site, "/unread.html", host_page(helpdesk.script_url, 'data-preload="idle"'))

    # Preloaded at idle, hidden: the frame is ready before any click.
    wait_for_event(page, "ready")
    expect(chat_iframe(page)).to_be_hidden()
    frame = chat_frame(page)
    last_received(frame, "closed")

    button = launcher(page)
    frame.evaluate("send({type: 'unread', count: 3})")
    badge = page.get_by_role("img", name="3 unread messages")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("3")
    expect(button).to_have_accessible_name("Chat with us")
    expect(button).to_have_accessible_description("3 unread messages")
    frame.evaluate("send({type: 'unread', count: 1})")
    expect(page.get_by_role("img", name="1 unread message")).to_have_text("1")
    frame.evaluate("send({type: 'unread', count: 120})")
    expect(page.get_by_role("img", name="120 unread messages")).to_have_text("99+")
    badge_box = page.get_by_role("img", name="120 unread messages").bounding_box()
    launcher_box = button.bounding_box()
    assert launcher_box["y"] - 12 < badge_box["y"] < launcher_box["y"]  # on the launcher's corner

    button.click()  # opens at once (already loaded); the badge hides while open
    expect(chat_iframe(page)).to_be_visible()
    expect(page.get_by_role("img", name="120 unread messages")).to_be_hidden()
    frame.evaluate("send({type: 'unread', count: 0})")
    button.click()
    expect(chat_iframe(page)).to_be_hidden()
    expect(page.locator("helpdesk-widget").get_by_role("img")).to_have_count(0)
    assert page.evaluate("events.filter((e) => e[0] === 'unread').map((e) => e[1])") == [3, 1, 120, 0]


def test_identify_reaches_the_frame_after_every_ready_also_when_queued_before_load(
        new_context, helpdesk, site):
    context, _ = new_context()
    page = context.new_page()
    queued = ('Helpdesk.q.push(["identify", {user_id: 42, email: "ana@example.com", name: "Ana",'
              ' user_hash: "abc123", role: "ignored"}]);')
    open_site(page, site, "/identify.html",
              host_page(helpdesk.script_url, 'data-preload="idle"', before=queued))

    wait_for_event(page, "ready")
    frame = chat_frame(page)
    last_received(frame, "closed")
    assert frame.evaluate("received") == [
        {"helpdesk": 1, "type": "identify", "user_id": "42", "email": "ana@example.com", "name": "Ana",
         "user_hash": "abc123"},
        {"helpdesk": 1, "type": "closed"},
    ]

    page.evaluate("Helpdesk.identify({user_id: 'u-2', email: 'bo@example.com', name: 'Bo',"
                  " user_hash: 'def'})")
    frame.wait_for_function("received.at(-1).type === 'identify' && received.at(-1).user_id === 'u-2'",
                            polling=FRAME_POLL)

    frame.evaluate("setTimeout(() => location.reload())")  # a new "ready": identify is sent again
    wait_for_event(page, "ready", 2)
    frame = chat_frame(page)
    last_received(frame, "closed")
    assert [(m["type"], m.get("user_id")) for m in frame.evaluate("received")] == [
        ("identify", "u-2"), ("closed", None)]

    # A late on("ready") is called once, since the widget is already ready; off() unsubscribes.
    page.evaluate("""new Promise((done) => {
        const late = () => { events.push(["late ready"]); Helpdesk.off("opened", late); done(); };
        Helpdesk.on("opened", late); Helpdesk.on("ready", late); })""")
    page.evaluate("Helpdesk.open(); Helpdesk.close()")
    assert event_names(page)[-3:] == ["late ready", "opened", "closed"]


def test_the_loader_adds_only_window_helpdesk(new_context, helpdesk, site):
    context, _ = new_context()
    inspect = """() => ({keys: Object.keys(window), head: document.head.innerHTML,
        body: [...document.body.children].map((el) => el.localName),
        sheets: document.adoptedStyleSheets.length,
        element: customElements.get("helpdesk-widget") === undefined,
        frames: window.length})"""
    without = context.new_page()
    open_site(without, site, "/plain.html", host_page(None, stub=False))
    before = without.evaluate(inspect)

    page = context.new_page()
    open_site(page, site, "/plain-widget.html", host_page(helpdesk.script_url, stub=False))
    expect(launcher(page)).to_be_visible()
    page.evaluate(AFTER_LOAD_AND_IDLE)
    expect(chat_iframe(page)).to_have_count(0)  # nothing loads before the visitor shows intent
    launcher(page).hover()
    chat_frame(page)  # loaded on intent, before the click
    after = page.evaluate(inspect)
    assert set(after["keys"]) - set(before["keys"]) == {"Helpdesk"}
    assert set(before["keys"]) - set(after["keys"]) == set()
    assert after["head"] == before["head"]
    assert after["body"] == [*before["body"], "script", "helpdesk-widget"]
    assert after["sheets"] == 0 and after["element"] and after["frames"] == before["frames"] == 0
    assert sorted(page.evaluate("Object.keys(Helpdesk)")) == [
        "close", "identify", "off", "on", "open", "q", "toggle", "version"]

    page.evaluate("Helpdesk.q.push(['open'])")  # the stub's queue keeps working after load
    expect(chat_iframe(page)).to_be_visible()


@pytest.mark.parametrize("answer", ["403", "200 allowed false", "not json"])
def test_a_site_the_helpdesk_does_not_allow_gets_no_launcher_and_one_warning(
        new_context, helpdesk, site, answer):
    helpdesk.allowed = set()
    if answer == "200 allowed false":
        helpdesk.refused_status = 200
    if answer == "not json":
        helpdesk.allowed, helpdesk.config_body = {site.origin}, b"<html>oops</html>"
    context, console = new_context(allow=re.compile(r"status of 403 \(Forbidden\)"))
    page = context.new_page()
    frames = len(helpdesk.hits("/widget/"))
    with page.expect_console_message(lambda message: message.type == "warning") as warning:
        open_site(page, site, "/refused.html", host_page(helpdesk.script_url))
    text = warning.value.text
    if answer == "not json":
        assert text == (f"Helpdesk widget: unexpected answer from {helpdesk.origin}/api/widget/config"
                        " (HTTP 200); not shown.")
    else:
        assert text == (f"Helpdesk widget: {site.origin} is not allowed to show this chat; add it to"
                        f" WIDGET_ALLOWED_ORIGINS on {helpdesk.origin}.")

    page.evaluate(AFTER_LOAD_AND_IDLE)
    page.evaluate("Helpdesk.open(); Helpdesk.toggle(); Helpdesk.identify({user_id: '1'})")
    page.evaluate(IDLE)
    expect(page.locator("helpdesk-widget")).to_have_count(0)
    assert len(helpdesk.hits("/widget/")) == frames
    assert console.warnings == [text]
    assert page.evaluate("events") == []


def test_messages_from_another_origin_or_window_are_ignored(new_context, helpdesk, site):
    context, _ = new_context()
    page = context.new_page()
    open_site(page, site, "/foreign.html", host_page(helpdesk.script_url, 'data-preload="idle"'))
    wait_for_event(page, "ready")
    launcher(page).click()
    expect(chat_iframe(page)).to_be_visible()

    # The page itself (wrong origin and window), a second frame of the Helpdesk origin (right
    # origin, wrong window), and the chat frame once navigated to another origin (right window,
    # wrong origin): each posts {unread} and {close}.
    page.evaluate("postMessage({helpdesk: 1, type: 'unread', count: 5}, '*');"
                  " postMessage({helpdesk: 1, type: 'close'}, '*')")
    page.evaluate(f"""document.body.append(Object.assign(document.createElement("iframe"),
        {{src: "{helpdesk.origin}/rogue.html"}}))""")
    chat_frame(page).evaluate(f"setTimeout(() => location.href = '{site.origin}/evil.html')")
    page.wait_for_function("seen.filter((m) => m.data && m.data.type === 'close').length === 3")
    origins = page.evaluate(
        "seen.filter((m) => m.data.type === 'unread').map((m) => [m.origin, m.data.count])")
    assert sorted(origins) == sorted([[site.origin, 5], [helpdesk.origin, 7], [site.origin, 9]])

    expect(chat_iframe(page)).to_be_visible()  # not closed
    expect(page.locator("helpdesk-widget").get_by_role("img")).to_have_count(0)  # no badge
    assert event_names(page) == ["ready", "opened"]


AGGRESSIVE_CSS = """<style>
* { color: red !important; font-size: 40px !important; line-height: 3 !important;
    box-sizing: content-box !important; font-family: serif !important; }
button { display: none } iframe { display: none !important } p, span, svg, div { all: unset; }
*:focus { outline: 9px solid lime !important } :root { --a: red; --f: red; }
helpdesk-widget { display: none !important; opacity: 0 !important }
</style>"""


def test_aggressive_host_css_does_not_break_it_and_its_css_does_not_touch_the_page(
        new_context, helpdesk, site):
    context, _ = new_context()
    snapshot = """() => Object.fromEntries(["html", "body", "h1", "p", "#own-link", "#own-button"].map(
        (selector) => { const el = document.querySelector(selector), style = getComputedStyle(el);
          return [selector, [[...style].map((name) => name + ":" + style.getPropertyValue(name)),
                             JSON.stringify(el.getBoundingClientRect())]]; }))"""
    results = {}
    for css in ("", AGGRESSIVE_CSS):
        for with_loader in (False, True):
            page = context.new_page()
            path = f"/css-{bool(css)}-{with_loader}.html"
            open_site(page, site, path, host_page(helpdesk.script_url if with_loader else None,
                                                  'data-preload="idle"', head=css))
            if with_loader:
                expect(launcher(page)).to_be_visible()
                chat_frame(page)
            results[css, with_loader] = page.evaluate(snapshot)
    for css in ("", AGGRESSIVE_CSS):
        assert results[css, True] == results[css, False]  # the page's own elements are untouched

    button = launcher(page)  # the last page: aggressive CSS, with the loader
    box = button.bounding_box()
    assert (box["width"], box["height"]) == (56, 56)
    assert 1280 - 40 <= box["x"] + box["width"] <= 1280
    styles = button.evaluate("""(el) => { const s = getComputedStyle(el);
        const host = getComputedStyle(el.getRootNode().host);
        return [s.color, s.backgroundColor, host.fontSize, host.color, host.display] }""")
    assert styles == ["rgb(255, 255, 255)", "rgb(15, 118, 110)", "14px", "rgb(31, 41, 55)", "block"]
    greeting = page.get_by_text("Hi! Ask us anything.")
    assert greeting.evaluate("(el) => [getComputedStyle(el).fontSize, getComputedStyle(el).color]") == [
        "14px", "rgb(31, 41, 55)"]
    button.click()
    expect(chat_iframe(page)).to_be_visible()
    wait_for_box(chat_iframe(page), {"x": 1280 - 20 - 380, "width": 380, "height": 600})
    frame = chat_frame(page)
    last_received(frame, "opened")
    frame.get_by_role("button", name="Close chat").click()
    expect(chat_iframe(page)).to_be_hidden()


def test_a_strict_content_security_policy_on_the_host_needs_only_the_helpdesk_origin(
        new_context, helpdesk, site):
    """No inline style, no HTML strings: style-src 'self' and Trusted Types are fine (a CSP
    violation is a console error, which fails the test). No wait_for_function here: Playwright
    polls its predicate with eval(), which this policy refuses."""
    context, _ = new_context(reduced_motion="reduce")  # no transitions to wait for
    page = context.new_page()
    policy = (f"default-src 'none'; script-src 'nonce-n0nce' {helpdesk.origin};"
              f" connect-src {helpdesk.origin}; frame-src {helpdesk.origin}; style-src 'self';"
              " img-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'")
    head = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    violations = ('addEventListener("securitypolicyviolation",'
                  ' (e) => events.push(["csp", e.violatedDirective]));')
    open_site(page, site, "/csp.html", host_page(helpdesk.script_url, head=head, before=violations,
                                                 nonce="n0nce"))
    button = launcher(page)
    expect(button).to_be_visible()
    assert button.evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgb(15, 118, 110)"
    button.hover()  # the chat loads on intent, and is ready before the click
    page.evaluate("new Promise((done) => Helpdesk.on('ready', done))")
    button.click()
    expect(chat_iframe(page)).to_be_visible()
    box = chat_iframe(page).bounding_box()
    assert (round(box["width"]), round(box["height"])) == (380, 600)
    assert event_names(page) == ["ready", "opened"]


def test_on_a_phone_the_open_chat_is_a_full_screen_sheet(new_context, helpdesk, site):
    context, _ = new_context(**PHONE)
    page = context.new_page()
    open_site(page, site, "/phone.html", host_page(helpdesk.script_url))
    button = launcher(page)
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    expect(page.get_by_text("Hi! Ask us anything.")).to_be_hidden()  # no greeting over a small page

    button.tap()
    iframe = chat_iframe(page)
    expect(iframe).to_be_visible()
    expect(button).to_be_hidden()  # the frame has its own "Close chat"
    wait_for_box(iframe, {"x": 0, "y": 0, "width": 390, "height": 844})
    wait_for_event(page, "ready")
    frame = chat_frame(page)
    last_received(frame, "opened")
    frame.wait_for_function("document.hasFocus()", polling=FRAME_POLL)

    page.keyboard.press("Escape")  # reaches the frame, which asks the host to close
    expect(iframe).to_be_hidden()
    expect(button).to_be_visible()
    expect(button).to_be_focused()

    button.tap()
    expect(iframe).to_be_visible()
    frame.get_by_role("button", name="Close chat").tap()
    expect(iframe).to_be_hidden()
    expect(button).to_be_visible()
    assert event_names(page) == ["opened", "ready", "closed", "opened", "closed"]


def test_the_script_included_twice_makes_one_launcher(new_context, helpdesk, site):
    context, _ = new_context()
    page = context.new_page()
    checks = len(helpdesk.hits("/api/widget/config"))
    open_site(page, site, "/twice.html", host_page(helpdesk.script_url, 'data-preload="idle"', scripts=2))
    expect(launcher(page)).to_be_visible()
    page.evaluate(AFTER_LOAD_AND_IDLE)
    wait_for_event(page, "ready")
    expect(page.locator("helpdesk-widget")).to_have_count(1)
    expect(launcher(page)).to_have_count(1)
    expect(chat_iframe(page)).to_have_count(1)
    assert len(helpdesk.hits("/api/widget/config")) == checks + 1
    launcher(page).click()
    expect(chat_iframe(page)).to_be_visible()
    assert event_names(page) == ["ready", "opened"]  # each handler once


def test_data_attributes_override_the_config(new_context, helpdesk, site):
    context, _ = new_context()
    page = context.new_page()
    attributes = 'data-position="left" data-accent="#fbbf24" data-greeting="Questions? We&#39;re here."'
    open_site(page, site, "/left.html", host_page(helpdesk.script_url, attributes))
    button = launcher(page)
    expect(button).to_be_visible()
    assert 16 <= button.bounding_box()["x"] <= 24
    assert button.evaluate("(el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]") == [
        "rgb(251, 191, 36)", "rgb(17, 17, 17)"]  # a dark icon on a light accent
    greeting = page.get_by_text("Questions? We're here.")
    expect(greeting).to_be_visible()
    expect(page.get_by_text("Hi! Ask us anything.")).to_have_count(0)
    page.get_by_role("button", name="Dismiss").click()
    expect(greeting).to_be_hidden()
    button.click()
    expect(chat_iframe(page)).to_be_visible()
    assert 16 <= chat_iframe(page).bounding_box()["x"] <= 24


def test_data_open_opens_on_load_without_taking_focus_and_motion_can_be_reduced(
        new_context, helpdesk, site):
    context, _ = new_context(reduced_motion="reduce")
    page = context.new_page()
    open_site(page, site, "/open.html", host_page(helpdesk.script_url, 'data-open="true"'))
    iframe = chat_iframe(page)
    expect(iframe).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    wait_for_event(page, "ready")
    last_received(chat_frame(page), "opened")
    assert page.evaluate("document.activeElement === document.body")
    assert iframe.evaluate("(el) => getComputedStyle(el).transitionDuration") == "0s"
    page.keyboard.press("Escape")  # from the page (focus is not in the chat)
    expect(iframe).to_be_hidden()
    expect(launcher(page)).to_be_focused()
    assert event_names(page) == ["opened", "ready", "closed"]


def test_a_visitor_with_a_conversation_open_gets_the_chat_loaded_at_idle(new_context, helpdesk, site):
    """So that a reply from the team raises the unread badge on whichever page they are."""
    context, _ = new_context()
    helpdesk.config["resume"] = True
    try:
        page = context.new_page()
        open_site(page, site, "/resume.html", host_page(helpdesk.script_url))
        expect(launcher(page)).to_be_visible()
        chat_frame(page).evaluate("send({type: 'unread', count: 1})")  # no hover, no click
    finally:
        del helpdesk.config["resume"]
    expect(page.get_by_role("img", name="1 unread message")).to_have_text("1")


def test_the_demo_page(new_context, helpdesk):
    context, _ = new_context()
    context.add_cookies([{"name": "session", "value": "secret", "url": helpdesk.origin}])
    page = context.new_page()
    page.goto(f"{helpdesk.origin}/widget-demo")
    expect(page).to_have_title(re.compile("Acme Dental Supplies"))
    expect(launcher(page)).to_be_visible()
    assert helpdesk.hits("/api/widget/config")[-1]["cookie"] == "session=secret"  # the chat's own
    frame = chat_iframe(page)
    launcher(page).hover()
    expect(frame).to_have_count(1)  # loaded on intent
    chat = chat_frame(page)
    header_count = page.locator("header").get_by_role("status")
    expect(header_count).to_be_hidden()
    chat.evaluate("send({type: 'unread', count: 2})")
    expect(page.locator("header").get_by_role("status", name="2 unread messages")).to_have_text("2")

    page.get_by_role("button", name="Identify as demo customer").click()
    chat.wait_for_function("received.some((m) => m.type === 'identify' && m.email)", polling=FRAME_POLL)
    page.get_by_role("button", name="Open chat").click()
    expect(frame).to_be_visible()
    last_received(chat, "opened")

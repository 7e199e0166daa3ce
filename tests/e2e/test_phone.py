"""The chat and the help centre on a phone (390 x 844, touch), in Chromium's mobile emulation:
nothing scrolls sideways, the thread list is a menu that opens and closes, a message can be
sent and its answer read, and tap targets are big enough."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import answers, ask, sign_up, thread_id, unique_name

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 3}
SIDEWAYS = "() => document.scrollingElement.scrollWidth - window.innerWidth"


@pytest.fixture
def phone(browser, app_server) -> Page:
    context = browser.new_context(base_url=app_server.origin, **PHONE)
    errors: list[str] = []
    context.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield context.new_page()
    context.close()
    assert not errors, f"browser console errors: {errors}"


def test_the_chat_fits_a_phone_and_the_thread_list_is_a_menu(phone):
    sign_up(phone, unique_name("phone"))
    ask(phone, "How do I reset my password?")
    thread_id(phone)
    expect(answers(phone)).to_have_count(1, timeout=20_000)
    answer = answers(phone).first.locator(".message-text")
    expect(answer).to_contain_text("password")
    box = answer.bounding_box()
    assert box["width"] > 250, f"the answer is squeezed into {box['width']:.0f} px"
    assert phone.evaluate(SIDEWAYS) <= 0
    steps = answer.locator("ol > li")  # numbered lists keep their numbers
    expect(steps.first).to_be_visible()
    assert steps.first.evaluate("li => getComputedStyle(li).listStyleType") == "decimal"
    expect(phone.get_by_role("list", name="Conversations")).to_have_count(0)  # folded away

    phone.get_by_role("button", name="Conversations").click()
    menu = phone.get_by_role("list", name="Conversations")
    expect(menu.get_by_role("listitem")).to_have_count(1)
    for control in (phone.get_by_role("button", name="Close conversations"), menu.get_by_role("link").first):
        height = control.bounding_box()["height"]
        assert height >= 40, f"a {height:.0f} px tap target"
    phone.get_by_role("button", name="Close conversations").click()
    expect(menu).to_have_count(0)
    composer = phone.get_by_label("Message").bounding_box()
    assert composer["y"] + composer["height"] <= 844  # the composer is at the bottom, in view
    send = phone.get_by_role("button", name="Send", exact=True).bounding_box()
    assert send["height"] >= 40 and send["width"] >= 40


def test_a_help_article_fits_a_phone(phone):
    phone.goto("/help/webhooks")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    assert phone.evaluate(SIDEWAYS) <= 0
    phone.goto("/help")
    expect(phone.get_by_role("heading", name="How can we help?")).to_be_visible()
    assert phone.evaluate(SIDEWAYS) <= 0

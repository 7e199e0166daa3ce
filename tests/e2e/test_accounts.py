"""Sign-up, log-in, log-out and the session cookie, in real Chromium against the running app."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import websocket
from playwright.sync_api import expect

from tests.e2e.conftest import at, log_in, sign_up, sign_up_from_home, unique_name

SESSION_COOKIE = "helpdesk_session"


def session_cookie(context):
    return next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)


def test_full_account_journey(new_context):
    context = new_context()
    page = context.new_page()
    name = sign_up_from_home(page)

    page.reload()
    expect(page.get_by_label("Signed in as")).to_have_text(name)
    expect(page).to_have_url(at("/chat"))

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(at("/login"))
    page.goto("/chat")
    page.wait_for_url(at("/login"))

    log_in(page, f"{name}@EXAMPLE.com")
    page.wait_for_url(at("/chat"))
    expect(page.get_by_label("Signed in as")).to_have_text(name)
    page.goto("/")
    page.wait_for_url(at("/chat"))


def test_signup_shows_each_problem_next_to_its_field(page):
    page.goto("/signup")
    page.get_by_label("Username").fill("a b")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#signup-form-username-error")).to_contain_text("3 to 32 characters")
    expect(page.locator("#signup-form-email-error")).to_contain_text("valid email")
    expect(page.locator("#signup-form-password-error")).to_contain_text("at least 8")
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(at("/signup"))


def test_duplicate_username_gets_a_clear_message(new_context):
    name = unique_name()
    sign_up(new_context().new_page(), name)
    page = new_context().new_page()
    page.goto("/signup")
    page.get_by_label("Username").fill(name.upper())
    page.get_by_label("Email").fill(f"other_{name}@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#signup-form-username-error")).to_have_text("That username is already taken.")


def test_wrong_password_and_unknown_user_look_the_same(new_context):
    name = unique_name()
    sign_up(new_context().new_page(), name)
    page = new_context().new_page()
    log_in(page, name, "wrong password")
    expect(page.get_by_role("alert").filter(has_text="Wrong")).to_have_text(
        "Wrong email/username or password.")
    log_in(page, unique_name("ghost"), "wrong password")
    expect(page.get_by_role("alert").filter(has_text="Wrong")).to_have_text(
        "Wrong email/username or password.")
    expect(page).to_have_url(at("/login"))


def test_five_failures_lock_the_account_with_a_time_to_retry(new_context):
    name = unique_name()
    sign_up(new_context().new_page(), name)
    attacker = new_context().new_page()
    for _ in range(5):
        log_in(attacker, name, "guess again")
        expect(attacker.get_by_role("alert").filter(has_text="Wrong")).to_be_visible()
    # The real owner, from another address, with the right password, is refused for now.
    owner = new_context().new_page()
    log_in(owner, name, "correct horse")
    expect(owner.get_by_role("alert").filter(has_text="Too many")).to_contain_text(
        "Try again in 15 minutes")
    expect(owner).to_have_url(at("/login"))
    # Someone else's log-in is unaffected.
    other = unique_name()
    sign_up(new_context().new_page(), other)
    bystander = new_context().new_page()
    log_in(bystander, other)
    bystander.wait_for_url(at("/chat"))


def test_session_cookie_is_httponly_and_lax(new_context):
    context = new_context()
    page = context.new_page()
    sign_up(page, unique_name())
    cookie = session_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert SESSION_COOKIE not in page.evaluate("document.cookie")


def test_tampered_cookie_lands_on_login(new_context, app_server):
    context = new_context()
    page = context.new_page()
    sign_up(page, unique_name())
    cookie = session_cookie(context)
    head, body, signature = cookie["value"].split(".")
    context.add_cookies([{**cookie, "value": f"{head}.{body}.{signature[::-1]}"}])
    page.goto("/chat")
    page.wait_for_url(at("/login"))


def test_a_token_copied_before_log_out_no_longer_works(new_context):
    context = new_context()
    page = context.new_page()
    sign_up(page, unique_name())
    copied = session_cookie(context)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(at("/login"))

    thief = new_context()
    thief.add_cookies([copied])
    stolen = thief.new_page()
    stolen.goto("/chat")
    stolen.wait_for_url(at("/login"))


def _post(url: str, body: dict, origin: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_auth_routes_refuse_other_origins(app_server):
    url = f"{app_server.url}/api/auth/login"
    body = {"login": "nobody", "password": "whatever1"}
    assert _post(url, body, "https://evil.example") == 403
    assert _post(url, body, f"http://localhost:{app_server.network.port}") == 401


@pytest.mark.parametrize("origin, allowed", [("https://evil.example", False), (None, True)])
def test_event_socket_refuses_other_origins(app_server, origin, allowed):
    url = f"ws://localhost:{app_server.port}/_event/?transport=websocket&EIO=4"
    try:
        connection = websocket.create_connection(
            url, origin=origin or f"http://localhost:{app_server.network.port}", timeout=10)
    except websocket.WebSocketBadStatusException as refused:
        assert not allowed and refused.status_code == 403
        return
    connection.close()
    assert allowed


def test_the_form_cannot_be_sent_before_the_page_is_ready(new_context):
    """Until the page is connected, Sign up stays disabled, so the browser never submits the
    form itself (which would put the password in the address bar and in server logs)."""
    page = new_context().new_page()
    page.route_web_socket("**/_event/**", lambda socket: None)  # the event socket never answers
    page.goto("/signup")
    page.get_by_label("Username").fill("early_bird")
    page.get_by_label("Email").fill("early@example.com")
    page.get_by_label("Password").fill("correct horse")
    expect(page.get_by_role("button", name="Sign up")).to_be_disabled()
    page.get_by_label("Password").press("Enter")
    page.wait_for_timeout(1_000)
    assert "correct" not in page.url and page.url.rstrip("/").endswith("/signup")

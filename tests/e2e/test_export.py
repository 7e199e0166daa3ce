"""The static export on one origin and the backend on another, started by the operator's make targets.

`make export` (built once for this module), `make backend` and `make serve-export`, each on a free
port, then real Chromium: sign-up, a streamed answer, a deep link opened cold and reloaded, the
not-found page, log-out. Other origins are refused by the auth routes and the event socket.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import websocket
from playwright.sync_api import expect

from tests.e2e.conftest import (
    QUESTION,
    RECORD_LENGTHS,
    UNKNOWN_PATH,
    answers,
    ask,
    at,
    sign_up_from_home,
    thread_id,
)
from tests.e2e.deployment import Deployment, deployed

FOREIGN = "http://evil.example"


@pytest.fixture(scope="module")
def deployment(database, tmp_path_factory) -> Iterator[Deployment]:
    with deployed(database, tmp_path_factory.mktemp("export"), "backend") as deployment:
        yield deployment


def test_sign_up_chat_deep_link_and_log_out_across_origins(context, deployment):
    page = context.new_page()
    sign_up_from_home(page)
    [cookie] = [c for c in context.cookies() if c["name"] == "helpdesk_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["domain"] == "localhost"

    page.evaluate(RECORD_LENGTHS)
    ask(page, QUESTION)
    chat_id = thread_id(page)
    expect(answers(page)).to_have_count(1, timeout=20_000)
    final = answers(page).first.locator(".message-text").inner_text()
    lengths = sorted(set(page.evaluate("window.__lengths")) - {0})
    assert len(lengths) >= 3, f"saw only {lengths} while streaming"

    tab = context.new_page()
    response = tab.goto(f"/chat/{chat_id}/")
    assert response.status == 200
    expect(tab.locator(".message-user")).to_have_text(QUESTION)
    expect(answers(tab)).to_have_count(1)
    assert answers(tab).first.locator(".message-text").inner_text() == final
    tab.reload()
    expect(tab).to_have_url(at(f"/chat/{chat_id}"))
    expect(answers(tab)).to_have_count(1)
    assert answers(tab).first.locator(".message-text").inner_text() == final

    tab.get_by_role("button", name="Log out").click()
    tab.wait_for_url(at("/login"))
    tab.goto(f"/chat/{chat_id}/")
    tab.wait_for_url(at("/login"))


def test_unknown_paths_get_the_apps_not_found_page_with_404(context):
    page = context.new_page()
    response = page.goto(UNKNOWN_PATH)
    assert response.status == 404
    expect(page.get_by_text("404: Page not found")).to_be_visible()


def _post(url: str, origin: str) -> tuple[int, dict[str, str]]:
    body = json.dumps({"login": "nobody", "password": "whatever1"}).encode()
    headers = {"Content-Type": "application/json", "Origin": origin}
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def test_auth_routes_allow_the_site_with_credentials_and_refuse_others(deployment):
    url = f"{deployment.api}/api/auth/login"
    status, headers = _post(url, FOREIGN)
    assert status == 403 and "access-control-allow-origin" not in headers
    status, headers = _post(url, deployment.site)
    assert status == 401
    assert headers["access-control-allow-origin"] == deployment.site
    assert headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize("foreign", [True, False])
def test_event_socket_accepts_only_the_site(deployment, foreign):
    url = f"{deployment.api.replace('http', 'ws', 1)}/_event/?transport=websocket&EIO=4"
    origin = FOREIGN if foreign else deployment.site
    try:
        websocket.create_connection(url, origin=origin, timeout=10).close()
    except websocket.WebSocketBadStatusException as refused:
        assert foreign and refused.status_code == 403
        return
    assert not foreign

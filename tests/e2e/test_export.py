"""The static export on one origin and the backend on another, started by the operator's make targets.

`make export` (built once for this module), `make backend` and `make serve-export`, each on a free
port, then real Chromium: sign-up, a streamed answer, a deep link opened cold and reloaded, the
not-found page, log-out. Other origins are refused by the auth routes and the event socket.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import websocket
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, expect

from tests.e2e.conftest import EXPECTED_CONSOLE, at, sign_up, unique_name
from tests.e2e.test_chat import QUESTION, RECORD_LENGTHS, answers, ask, thread_id
from tests.servers import ROOT, Command, free_port

FOREIGN = "http://evil.example"
UNKNOWN_PATH = "/no-such-page/"
LOGS = ROOT / "test-results"


@dataclass(frozen=True)
class Deployment:
    site: str  # the origin serving the exported frontend
    api: str  # the backend's origin, baked into the export


def make_export(api: str, site: str, dist) -> float:
    """Runs `make export` and returns how long it took, in seconds."""
    started = time.monotonic()
    with (LOGS / "export.log").open("ab") as log:
        result = subprocess.run(
            ["make", "-s", "export", f"API_URL={api}", f"EXPORT_DIR={dist}"], cwd=ROOT,
            env={**os.environ, "FRONTEND_ORIGINS": site}, stdout=log, stderr=subprocess.STDOUT,
            timeout=900,
        )
    assert result.returncode == 0, "make export failed; see test-results/export.log"
    return time.monotonic() - started


@pytest.fixture(scope="module")
def deployment(database, tmp_path_factory) -> Iterator[Deployment]:
    LOGS.mkdir(exist_ok=True)
    dist = tmp_path_factory.mktemp("export")
    site_port, api_port = free_port(), free_port()
    deployment = Deployment(site=f"http://localhost:{site_port}", api=f"http://localhost:{api_port}")
    print(f"make export: {make_export(deployment.api, deployment.site, dist):.1f} s")

    backend = Command(
        ["make", "-s", "backend", f"BACKEND_PORT={api_port}"],
        {"MONGODB_URI": database.uri, "MONGODB_DB": f"export_{uuid.uuid4().hex[:8]}",
         "JWT_SECRET": "export-" + "x" * 41, "API_URL": deployment.api,
         "FRONTEND_ORIGINS": deployment.site, "OPEN_ROUTER": "",
         # The backend compiles the app at start: keep that out of the .web `make run` uses.
         "REFLEX_WEB_WORKDIR": str(dist / "web")},
        LOGS / "backend.log", f"{deployment.api}/readyz",
    ).start(timeout=180)
    static = Command(
        ["make", "-s", "serve-export", f"EXPORT_PORT={site_port}", f"EXPORT_DIR={dist}"],
        {}, LOGS / "serve-export.log", f"{deployment.site}/login",
    ).start(timeout=30)
    yield deployment
    static.stop()
    backend.stop()
    shutil.rmtree(dist / "web")  # the build's work directory: 150 MB of frontend packages


@pytest.fixture
def context(browser: Browser, deployment: Deployment) -> Iterator[BrowserContext]:
    """A browser context on the exported site; any console error fails the test."""
    errors: list[str] = []

    def expected(message: ConsoleMessage) -> bool:
        unknown_page = message.location.get("url", "").endswith(UNKNOWN_PATH)
        return EXPECTED_CONSOLE.search(message.text) is not None or (
            unknown_page and "status of 404" in message.text)

    context = browser.new_context(base_url=deployment.site)
    context.on("console", lambda message: message.type == "error" and not expected(message)
               and errors.append(message.text))
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    context.close()
    assert not errors, f"browser console errors: {errors}"


def test_sign_up_chat_deep_link_and_log_out_across_origins(context, deployment):
    page = context.new_page()
    page.goto("/")
    page.wait_for_url(at("/login"))
    name = unique_name()
    sign_up(page, name)
    expect(page.get_by_label("Signed in as")).to_have_text(name)
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

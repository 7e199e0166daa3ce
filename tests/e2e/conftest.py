"""Browser tests: the app started as `make run` starts it, driven by real Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from itertools import count

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.servers import ROOT, AppServer, DatabaseServer, free_port
from tests.tcp_proxy import TcpProxy

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The auth routes answer a refused log-in with 4xx, which Chromium reports on the console.
EXPECTED_CONSOLE = re.compile(
    r"Failed to load resource: the server responded with a status of 4(00|01|09|29)"
)
_addresses = count(2)


WIDGET_SECRET = "e2e-widget-identity-secret"
UNKNOWN_PATH = "/no-such-page/"  # the exported site answers it with the app's not-found page
# What Chromium logs while the network is cut on purpose (tests that call `network.cut()`).
NETWORK_CONSOLE = re.compile(r"WebSocket connection to|net::ERR_|Failed to load resource")


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> Iterator[DatabaseServer]:
    """On disk, so a test can stop and restart it without losing accounts."""
    server = DatabaseServer(str(tmp_path_factory.mktemp("database") / "e2e.db")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_server(database) -> Iterator[AppServer]:
    """The app, reached by the browser only through a proxy that can cut the network."""
    log_dir = ROOT / "test-results"
    log_dir.mkdir(exist_ok=True)
    proxy_port, host_port = free_port(), free_port()
    server = AppServer(
        {
            "API_URL": f"http://localhost:{proxy_port}",
            "FRONTEND_ORIGINS": f"http://localhost:{proxy_port}",
            "MONGODB_URI": database.uri,
            "MONGODB_DB": f"e2e_{uuid.uuid4().hex[:8]}",
            "JWT_SECRET": "e2e-" + "x" * 44,
            "TRUSTED_PROXY_HOPS": "1",
            "OPEN_ROUTER": "",
            "WIDGET_ALLOWED_ORIGINS": f"http://127.0.0.1:{host_port}",  # a company's site
            "WIDGET_IDENTITY_SECRET": WIDGET_SECRET,
        },
        log_dir / "app.log",
    ).start()
    server.network = TcpProxy(proxy_port, server.port).start()
    server.origin = f"http://localhost:{proxy_port}"  # where pages come from (FRONTEND_ORIGINS)
    server.db_name = server.env["MONGODB_DB"]
    server.host_port = host_port  # the one site allowed to embed the widget
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright driver per run: its sync API cannot be started twice at once."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def keep_screenshots(request, contexts: list[BrowserContext]) -> None:
    """A failed test leaves what its pages showed in test-results/, for whoever reads CI's log."""
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    for n, page in enumerate(page for context in contexts for page in context.pages):
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ROOT / "test-results" / f"{request.node.name}-{n}.png"))


@pytest.fixture
def new_context(browser: Browser, app_server: AppServer, request):
    """Fresh browser contexts, each looking like a different client address to the app."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(network_cuts: bool = False) -> BrowserContext:
        address = f"10.{next(_addresses) // 250}.{next(_addresses) % 250}.{len(contexts) + 1}"
        context = browser.new_context(base_url=f"http://localhost:{app_server.network.port}",
                                      extra_http_headers={"X-Forwarded-For": address})
        context.on("console", lambda message: message.type == "error"
                   and not EXPECTED_CONSOLE.search(message.text)
                   and not (network_cuts and NETWORK_CONSOLE.search(message.text))
                   and errors.append(message.text))
        context.on("weberror", lambda error: errors.append(str(error.error)))
        contexts.append(context)
        return context

    yield make
    keep_screenshots(request, contexts)
    for context in contexts:
        context.close()
    assert not errors, f"browser console errors: {errors}"


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def at(path: str) -> re.Pattern[str]:
    """A URL matcher for an app path, with or without the trailing slash the server adds."""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")


def sign_up(page: Page, username: str, password: str = "correct horse") -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(at("/chat"))


def sign_up_from_home(page: Page) -> str:
    """Open the site's home, get sent to log-in, sign up from there; the new username."""
    page.goto("/")
    page.wait_for_url(at("/login"))
    name = unique_name()
    sign_up(page, name)
    expect(page.get_by_label("Signed in as")).to_have_text(name)
    return name


def log_in(page: Page, login: str, password: str = "correct horse") -> None:
    page.goto("/login")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def context(browser: Browser, deployment) -> Iterator[BrowserContext]:
    """A browser context on the exported site of the module's `deployment`; any console error
    fails the test."""
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


# --- The chat and the inbox, as a person uses them ----------------------------------------

QUESTION = "How do I reset my password?"
THREAD_URL = re.compile(r"/chat/([0-9a-f]{16})/?$")

RECORD_LENGTHS = """
() => {
  window.__lengths = [];
  new MutationObserver(() => {
    const live = document.querySelector('.message-live .message-text');
    if (live) window.__lengths.push(live.textContent.length);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def ask(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def answers(page: Page):
    return page.locator(".message-assistant:not(.message-live)")


def sidebar_threads(page: Page):
    return page.get_by_role("list", name="Conversations").get_by_role("listitem")


def thread_id(page: Page) -> str:
    page.wait_for_url(THREAD_URL)
    return THREAD_URL.search(page.url).group(1)


PASSWORD = "correct horse staple"


def make_admin(database: dict[str, str], email: str, password: str = PASSWORD) -> str:
    """`make admin EMAIL=... PASSWORD=...` on the database named by MONGODB_URI and MONGODB_DB;
    what it printed."""
    result = subprocess.run(
        ["make", "-s", "admin", f"EMAIL={email}", f"PASSWORD={password}"], cwd=ROOT, text=True,
        capture_output=True, timeout=120, env={**os.environ, **database})
    assert result.returncode == 0, result.stderr
    return result.stdout


def open_inbox(page: Page, login: str, password: str = PASSWORD) -> None:
    log_in(page, login, password)
    page.wait_for_url(at("/inbox"))
    expect(page.get_by_role("tablist", name="Views")).to_be_visible()


def queue_row(page: Page, text: str):
    return page.get_by_role("list", name="Conversations").get_by_role("link").filter(has_text=text)

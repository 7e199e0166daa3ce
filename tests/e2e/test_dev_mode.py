"""`make dev`, as a developer uses it: in a copy of the checkout (what a fresh clone holds, with
this venv), on free ports and its own embedded database, it serves the chat with the fake model
(FAKE_LLM=1 by default, no key), and an edit to a page's Python file shows after a reload.

The copy has its own Reflex build directory, so the checkout's .web is never touched."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import RECORD_LENGTHS, answers, ask, at, sign_up, unique_name
from tests.servers import ROOT, free_port, wait_for

LOGS = ROOT / "test-results"
LOGIN_PAGE = Path("chatapp/pages/login.py")
LOGIN_HEADING = 'auth_card("Log in", '
FINISHED = "Is there anything else I can help with?"  # how the fake model ends after a call
# Settings the copy must not inherit from whoever runs the tests: it starts as a fresh clone does.
INHERITED = ("MONGODB_URI", "MONGODB_DB", "API_URL", "FRONTEND_ORIGINS", "JWT_SECRET", "APP_ENV",
             "FAKE_LLM", "REDIS_URL", "WORKERS", "REFLEX_WEB_WORKDIR", "REFLEX_ENV_MODE",
             "REFLEX_HOT_RELOAD_OVERRIDE_PATHS", "REFLEX_HOT_RELOAD_INCLUDE_PATHS",
             "REFLEX_HOT_RELOAD_EXCLUDE_PATHS")


@dataclass
class DevApp:
    root: Path  # the copy
    url: str  # the frontend, where the pages come from
    log: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def copy_checkout(dest: Path) -> None:
    """The files a fresh clone would have (tracked and new ones, as they are now in the working
    tree), without .git, .venv, .web, data/, .env or anything else git ignores."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def stop(process: subprocess.Popen) -> None:
    """The whole process group: make, reflex, the backend's reload workers, bun and Vite."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    with contextlib.suppress(ProcessLookupError):  # members that outlived the leader
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def dev_app(tmp_path_factory) -> Iterator[DevApp]:
    root = tmp_path_factory.mktemp("dev") / "helpdesk"
    copy_checkout(root)
    (root / ".venv").symlink_to(Path(sys.prefix))  # the venv these tests run in
    app_port, backend_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in INHERITED}
    env |= {"APP_PORT": str(app_port), "BACKEND_PORT": str(backend_port), "DB_PORT": str(free_port()),
            "OPEN_ROUTER": ""}
    LOGS.mkdir(exist_ok=True)
    log = LOGS / "dev-mode.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(["make", "-s", "dev"], cwd=root, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    app = DevApp(root, f"http://localhost:{app_port}", log, process)

    def serves_login() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"make dev exited ({process.returncode}):\n{app.log_tail()}")
        with urllib.request.urlopen(f"{app.url}/login", timeout=5) as response:  # follows 307s
            return response.status == 200

    try:
        wait_for(serves_login, 300, f"make dev serving /login (log: {log})", 0.25)
        print(f"make dev served /login after {time.monotonic() - started:.1f} s")
        yield app
    finally:
        stop(process)
        subprocess.run(["scripts/db.sh", "stop"], cwd=root, capture_output=True, timeout=30)
        shutil.rmtree(root / ".web", ignore_errors=True)  # ~150 MB of frontend packages


@pytest.fixture
def new_page(browser: Browser, dev_app: DevApp) -> Iterator:
    """Pages in fresh browser contexts on the dev frontend; an uncaught error in one fails the test
    (console errors do not: the socket drops on purpose while the backend reloads)."""
    contexts, errors = [], []

    def make() -> Page:
        contexts.append(browser.new_context(base_url=dev_app.url))
        contexts[-1].on("weberror", lambda error: errors.append(str(error.error)))
        return contexts[-1].new_page()

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"errors in the page: {errors}"


def test_make_dev_serves_the_chat_with_the_fake_model_and_reloads_an_edited_page(dev_app, new_page):
    # The chat, answered by the fake model with no key: it streams, and calls an action.
    page = new_page()
    sign_up(page, unique_name("dev"))
    ask(page, "Where is my order?")
    answer = answers(page).first
    expect(answer).to_contain_text(FINISHED, timeout=30_000)
    expect(answer).to_contain_text("Let me look that up for you.")  # the fake model, not the built-in
    expect(answer.get_by_role("region", name="Order status")).to_be_visible()  # its tool call's card

    # An edit to a page's Python file shows after a reload, with nothing restarted by hand.
    visitor = new_page()
    visitor.goto("/login")
    expect(visitor.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    heading = f"Log in, edited {uuid.uuid4().hex[:6]}"
    source = dev_app.root / LOGIN_PAGE
    text = source.read_text()
    assert LOGIN_HEADING in text, f"{LOGIN_PAGE} no longer calls {LOGIN_HEADING}...: update this test"
    edited = time.monotonic()
    source.write_text(text.replace(LOGIN_HEADING, f'auth_card("{heading}", '))

    def shows_edit() -> bool:
        visitor.reload(wait_until="domcontentloaded")
        try:
            expect(visitor.get_by_role("heading", name=heading)).to_be_visible(timeout=2_000)
        except AssertionError:
            return False
        return True

    wait_for(shows_edit, 120, f"the edited heading on /login (log: {dev_app.log})", 0.5)
    print(f"the edit showed after {time.monotonic() - edited:.1f} s")
    expect(visitor).to_have_url(at("/login"))
    # The backend came back too: the chat still answers after the reload, streaming.
    page.evaluate(RECORD_LENGTHS)
    ask(page, "How do I reset my password?")
    expect(answers(page)).to_have_count(2, timeout=30_000)
    lengths = sorted(set(page.evaluate("window.__lengths")) - {0})
    assert len(lengths) >= 3, f"saw only {lengths} while streaming"

"""Two backend workers on one port sharing Redis (`make backend WORKERS=2 REDIS_URL=...`) behind
the static export, in real Chromium.

Which worker served an HTTP request shows in its X-Served-By header (an opaque worker id); which
worker serves a tab (its event socket) shows in the "thread opened" line that worker logs when
the tab opens a thread, and which worker writes an answer in its "answer started" line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import (
    QUESTION,
    RECORD_LENGTHS,
    answers,
    ask,
    make_admin,
    open_inbox,
    queue_row,
    sign_up,
    thread_id,
    unique_name,
)
from tests.e2e.deployment import Deployment, deployed
from tests.servers import RedisServer

FOLLOW_UP = "How do I port my number?"
MAX_TABS = 12  # fresh tabs opened until both workers served one: 1 in 2,048 to fail by chance


@pytest.fixture(scope="module")
def deployment(database, tmp_path_factory) -> Iterator[Deployment]:
    redis = RedisServer().start()
    try:
        with deployed(database, tmp_path_factory.mktemp("workers"), "workers",
                      ["WORKERS=2", f"REDIS_URL={redis.url}"],
                      {"LOG_FORMAT": "json", "TRUSTED_PROXY_HOPS": "1"}) as deployment:
            yield deployment
    finally:
        redis.stop()


def _workers_logging(deployment: Deployment, message: str, chat_id: str) -> list[int]:
    """The pids of the workers that logged `message` for the thread, oldest first."""
    pids = []
    for line in deployment.backend_log.read_text().splitlines():
        if line.startswith("{") and f'"{message}"' in line:
            event = json.loads(line)
            if event.get("chat_id") == chat_id:
                pids.append(event["pid"])
    return pids


def _worker_of(header: str) -> str:
    return header  # an opaque id per worker


def _one_connection_per_worker(deployment: Deployment) -> dict[str, httpx.Client]:
    """Keep-alive connections, one held on each worker (a connection stays where it landed)."""
    clients: dict[str, httpx.Client] = {}
    for _ in range(40):
        client = httpx.Client(base_url=deployment.api, headers={"Origin": deployment.site})
        worker = _worker_of(client.get("/healthz").headers["x-served-by"])
        if worker in clients:
            client.close()
            continue
        clients[worker] = client
        if len(clients) == 2:
            return clients
    raise AssertionError("40 fresh connections all landed on one worker")


def test_failed_logins_spread_over_both_workers_still_lock_the_account(deployment):
    name = unique_name()
    signup = httpx.post(f"{deployment.api}/api/auth/signup", headers={"Origin": deployment.site},
                        json={"username": name, "email": f"{name}@example.com",
                              "password": "correct horse"})
    assert signup.status_code == 201
    clients = _one_connection_per_worker(deployment)
    workers = list(clients)
    for attempt in range(5):  # alternating workers, each from its own client address
        worker = workers[attempt % 2]
        refused = clients[worker].post("/api/auth/login", json={"login": name, "password": "wrong one"},
                                       headers={"X-Forwarded-For": f"198.51.100.{attempt + 1}"})
        assert refused.status_code == 401
        assert _worker_of(refused.headers["x-served-by"]) == worker
    for worker, client in clients.items():  # now even the right password is refused, anywhere
        locked = client.post("/api/auth/login", json={"login": name, "password": "correct horse"},
                             headers={"X-Forwarded-For": "198.51.100.99"})
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        assert _worker_of(locked.headers["x-served-by"]) == worker
        client.close()


def _open(context: BrowserContext, deployment: Deployment, chat_id: str) -> tuple[Page, int]:
    """A fresh tab on the thread, and the worker that served it."""
    tab = context.new_page()
    tab.goto(f"/chat/{chat_id}/")
    expect(answers(tab).first).to_be_visible(timeout=15_000)
    return tab, _workers_logging(deployment, "thread opened", chat_id)[-1]


def test_history_and_streamed_answers_are_shared_by_both_workers(context, deployment):
    page = context.new_page()
    sign_up(page, unique_name())
    ask(page, QUESTION)
    chat_id = thread_id(page)
    expect(answers(page)).to_have_count(1, timeout=20_000)

    # Tabs on the thread until both workers have served it (and cached its history); the others
    # are closed, as each holds one of the user's MAX_STREAMS_PER_USER streams.
    tabs: dict[int, Page] = {}
    for _ in range(MAX_TABS):
        tab, worker = _open(context, deployment, chat_id)
        if worker in tabs:
            tab.close()
            continue
        tabs[worker] = tab
        if len(tabs) == 2:
            break
    assert len(tabs) == 2, f"{MAX_TABS} tabs all landed on one worker"

    # A follow-up written through one worker is seen at once by a tab served by the other.
    writer, reader = list(tabs)
    ask(tabs[writer], FOLLOW_UP)
    expect(answers(tabs[writer])).to_have_count(2, timeout=20_000)
    assert _workers_logging(deployment, "answer started", chat_id)[-1] == writer
    for _ in range(MAX_TABS):
        tab, worker = _open(context, deployment, chat_id)
        if worker == reader:
            break
        tab.close()
    assert worker == reader, f"{MAX_TABS} reloads all landed on worker {writer}"
    expect(tab.locator(".message-user")).to_have_text([QUESTION, FOLLOW_UP])
    expect(answers(tab)).to_have_count(2)

    # Each worker writes one answer, streamed into its tab wherever the live route lands.
    for worker, tab in tabs.items():
        tab.get_by_role("link", name="New chat").click()
        expect(tab).to_have_url(re.compile(r"/chat/?$"))
        tab.evaluate(RECORD_LENGTHS)
        ask(tab, QUESTION)
        new_chat = thread_id(tab)
        expect(answers(tab)).to_have_count(1, timeout=20_000)
        assert _workers_logging(deployment, "answer started", new_chat) == [worker]
        lengths = sorted(set(tab.evaluate("window.__lengths")) - {0})
        assert len(lengths) >= 3, f"worker {worker}: saw only {lengths} while streaming"


def _stream_worker(page: Page, route: str) -> list[str]:
    """Collects the worker id of every response to an events route the page opens."""
    served: list[str] = []
    page.on("response", lambda response: route in response.url and response.url.endswith("/events")
            and served.append(response.headers.get("x-served-by", "")))
    return served


def _until_served(page: Page, served: list[str], timeout_ms: int = 15_000) -> None:
    """Lets the page run (its response events fire only then) until its stream has opened."""
    for _ in range(timeout_ms // 50):
        if served:
            return
        page.wait_for_timeout(50)
    raise AssertionError("timed out waiting for the page's event stream")


def test_a_customer_on_one_worker_and_an_agent_on_the_other_talk_live(browser, deployment):
    admin = f"admin_{unique_name()}@example.com"
    assert "is an admin" in make_admin(deployment.database, admin)
    customer_context = browser.new_context(base_url=deployment.site)
    agent_context = browser.new_context(base_url=deployment.site)
    try:
        customer = customer_context.new_page()
        name = unique_name("cust")
        sign_up(customer, name)
        mine = _stream_worker(customer, "/api/conversations/")
        ask(customer, "agent please")
        expect(customer.get_by_role("status").filter(has_text="queue")).to_be_visible(timeout=15_000)
        agent = agent_context.new_page()
        theirs = _stream_worker(agent, "/api/inbox/events")
        open_inbox(agent, admin)
        _until_served(customer, mine)
        _until_served(agent, theirs)
        # A browser context keeps its connections alive, so only a new context can land on the
        # other worker: agent contexts with the same session until one does.
        for _ in range(MAX_TABS):
            if mine[-1] != theirs[-1]:
                break
            session = agent_context.storage_state()
            agent_context.close()
            agent_context = browser.new_context(base_url=deployment.site, storage_state=session)
            agent = agent_context.new_page()
            theirs = _stream_worker(agent, "/api/inbox/events")
            agent.goto("/inbox")
            expect(agent.get_by_role("tablist", name="Views")).to_be_visible(timeout=15_000)
            _until_served(agent, theirs)
        assert mine[-1] != theirs[-1], f"{MAX_TABS} tries all landed on one worker"
        expect(queue_row(agent, name)).to_be_visible(timeout=15_000)
        queue_row(agent, name).click()
        agent.get_by_role("button", name="Claim").click()
        expect(customer.get_by_text(re.compile("from Support joined"))).to_be_visible(timeout=15_000)
        agent.get_by_label("Reply").fill("Hello from the other worker.")
        agent.get_by_role("button", name="Send reply").click()
        expect(customer.locator(".message-agent")).to_contain_text("other worker", timeout=15_000)
        ask(customer, "Thanks, and hello back")
        expect(agent.locator(".message-user").last).to_contain_text("hello back", timeout=15_000)
    finally:
        customer_context.close()
        agent_context.close()


def _workers_logging_article(deployment: Deployment, article_id: str) -> list[int]:
    return [event["pid"] for event in map(json.loads, (
        line for line in deployment.backend_log.read_text().splitlines() if line.startswith("{")))
        if event.get("message") == "knowledge article changed" and event.get("article_id") == article_id]


def test_an_article_saved_on_one_worker_is_what_the_other_answers_from(browser, deployment):
    admin = f"admin_{unique_name()}@example.com"
    assert "is an admin" in make_admin(deployment.database, admin)
    editor_context = browser.new_context(base_url=deployment.site)
    customer_context = browser.new_context(base_url=deployment.site)
    try:
        editor = editor_context.new_page()
        open_inbox(editor, admin)
        editor.goto("/inbox/knowledge/")
        editor.get_by_role("link", name="Resetting your password").click()
        editor.wait_for_url(re.compile(r"/inbox/knowledge/[0-9a-f]{32}/?$"))
        article_id = editor.url.rstrip("/").rsplit("/", 1)[1]
        body = editor.get_by_label("Body", exact=True)
        expect(body).to_have_value(re.compile("sign-in page at app.ellavox.example/login"))
        body.fill(body.input_value().replace("app.ellavox.example/login", "portal.ellavox.example/enter"))
        editor.get_by_role("button", name="Save").click()
        expect(editor.get_by_role("status").filter(has_text="Saved as version")).to_be_visible()
        saver = _workers_logging_article(deployment, article_id)[-1]

        customer = customer_context.new_page()
        sign_up(customer, unique_name())
        for _ in range(MAX_TABS):  # new chats until one is answered by the other worker
            ask(customer, QUESTION)
            chat_id = thread_id(customer)
            expect(answers(customer)).to_have_count(1, timeout=20_000)
            if _workers_logging(deployment, "answer started", chat_id) != [saver]:
                break
            customer = customer_context.new_page()
            customer.goto("/chat/")
        assert _workers_logging(deployment, "answer started", chat_id) != [saver], "all on one worker"
        expect(answers(customer)).to_contain_text("portal.ellavox.example/enter")
    finally:
        editor_context.close()
        customer_context.close()

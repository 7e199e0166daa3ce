"""What an attacker tries in an afternoon, against the app started as `make run` starts it:
parallel password guesses, malformed input on every route and event handler, secrets and
message text in the logs, and framing by another site."""

from __future__ import annotations

import http.client
import inspect
import json
import re
import threading
import urllib.parse
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import expect
from pymongo import MongoClient

from chatapp.state.actions import ActionState
from chatapp.state.article_editor import ArticleEditorState
from chatapp.state.auth_form import AuthFormState
from chatapp.state.chat import ChatState
from chatapp.state.feedback import FeedbackState
from chatapp.state.help import HelpState
from chatapp.state.inbox import InboxState
from chatapp.state.insights import InsightsState
from chatapp.state.knowledge_list import KnowledgeListState
from chatapp.state.notices import NoticeState
from chatapp.state.session import SessionState
from chatapp.state.team import TeamState
from chatapp.state.welcome import WelcomeState
from tests.e2e.widget_host import Site
from tests.servers import Command, free_port, wait_for
from tests.socket_client import EventSocket, event_name

NAUGHTY = [None, 0, -1, 1e308, True, "", "²", "x" * 200_000, "../../etc/passwd", "$regex",
           {"$regex": "."}, {"$ne": None}, [], ["a", "b"], "0123456789abcdef", "<script>", "\u0000",
           {"chat_id": {"$gt": ""}, "text": 5, "client_id": []}]
STATES = (ActionState, ArticleEditorState, AuthFormState, ChatState, FeedbackState, HelpState, InboxState,
          InsightsState, KnowledgeListState, NoticeState, SessionState, TeamState, WelcomeState)


def request(base: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
    """One HTTP request (no redirects followed); a streamed answer is read for `timeout` at most."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        try:
            data = response.read(65536) if response.status == 200 else response.read()
        except TimeoutError:
            data = b""
        return response.status, dict(response.getheaders()), data
    finally:
        connection.close()


def sign_up_over_http(app_server) -> tuple[str, str]:
    """A new account; its username and session token."""
    name = f"h_{uuid.uuid4().hex[:10]}"
    status, headers, _ = request(app_server.url, "POST", "/api/auth/signup", json.dumps(
        {"username": name, "email": f"{name}@example.com", "password": "correct horse"}).encode(),
        {"Content-Type": "application/json", "X-Forwarded-For": f"10.66.{uuid.uuid4().int % 250}.1"})
    assert status == 201
    token = re.search(r"helpdesk_session=([^;]+)", headers["set-cookie"]).group(1)
    return name, token


def test_parallel_guesses_never_get_more_than_five_tries(app_server):
    name, _ = sign_up_over_http(app_server)
    guesses = [f"guess {n}" for n in range(39)] + ["correct horse"]
    start = threading.Barrier(len(guesses))

    def log_in(numbered: tuple[int, str]) -> int:
        number, password = numbered
        start.wait()  # all forty at once
        status, _, _ = request(app_server.url, "POST", "/api/auth/login",
                               json.dumps({"login": name, "password": password}).encode(),
                               {"Content-Type": "application/json",
                                "X-Forwarded-For": f"10.67.{number}.1"}, timeout=60)
        return status

    with ThreadPoolExecutor(len(guesses)) as pool:
        statuses = Counter(pool.map(log_in, enumerate(guesses)))
    print(f"40 parallel log-ins: {dict(statuses)}")
    assert statuses[401] + statuses[200] <= 5  # passwords actually checked
    assert statuses[429] >= 35


def test_the_username_and_the_email_share_one_lock(app_server):
    name, _ = sign_up_over_http(app_server)
    for attempt, login in enumerate([name, f"{name}@example.com", name.upper(), name, f"{name}@EXAMPLE.com"]):
        status, _, _ = request(app_server.url, "POST", "/api/auth/login", json.dumps(
            {"login": login, "password": "guess"}).encode(),
            {"Content-Type": "application/json", "X-Forwarded-For": f"10.68.{attempt}.1"})
        assert status == 401
    status, headers, _ = request(app_server.url, "POST", "/api/auth/login", json.dumps(
        {"login": f"{name}@example.com", "password": "correct horse"}).encode(),
        {"Content-Type": "application/json", "X-Forwarded-For": "10.68.9.1"})
    assert status == 429 and int(headers["retry-after"]) > 0


def test_sign_ups_from_one_address_are_limited(app_server):
    address = f"10.69.{uuid.uuid4().int % 250}.9"
    statuses = []
    for _ in range(12):
        name = f"s_{uuid.uuid4().hex[:10]}"
        status, headers, _ = request(app_server.url, "POST", "/api/auth/signup", json.dumps(
            {"username": name, "email": f"{name}@example.com", "password": "correct horse"}).encode(),
            {"Content-Type": "application/json", "X-Forwarded-For": address})
        statuses.append(status)
    assert statuses[:10] == [201] * 10
    assert statuses[10:] == [429, 429] and int(headers["retry-after"]) > 0


def http_fuzz_cases(token: str):
    cookie = {"Cookie": f"helpdesk_session={token}"}
    ids = ["x", "%C2%B2", "0123456789abcdef", "0123456789ABCDEF", "a" * 300, "..%2F..", "%00",
           "%7B%22%24ne%22%3A1%7D"]
    offsets = ["%C2%B2", "-1", "99999999999999999999999999", "abc-1", "0-%C2%B2", "1-1", "%00", "a" * 500]
    for chat_id in ids:
        yield "GET", f"/api/conversations/{chat_id}/events", None, cookie
        yield "GET", f"/api/conversations/{chat_id}/events", None, {}
    for offset in offsets:
        yield "GET", f"/api/conversations/0123456789abcdef/events?after={offset}", None, cookie
        yield "GET", "/api/conversations/0123456789abcdef/events", None, {**cookie, "Last-Event-ID": offset}
        yield "GET", f"/api/inbox/events?after={offset}&away={offset}", None, cookie
    bodies = [b"", b"not json", b"[]", b"null", b'{"login": 5, "password": []}', b'{"a":' * 2000,
              json.dumps({"login": "x" * 20_000, "password": "y"}).encode(), b"\xff\xfe", "²".encode()]
    for route in ("login", "signup", "logout", "accept"):
        for body in bodies:
            for kind in ("application/json", "application/x-www-form-urlencoded", "text/plain"):
                yield "POST", f"/api/auth/{route}", body, {"Content-Type": kind}
    for path in ("/api/health", "/healthz", "/readyz", "/api/auth/login", "/api/conversations//events"):
        yield "GET", f"{path}?x=%C2%B2&y={'z' * 3000}", None, cookie


def test_no_http_route_answers_500_to_anything_a_client_can_send(app_server):
    _, token = sign_up_over_http(app_server)
    failures = []
    for method, path, body, headers in http_fuzz_cases(token):
        status, _, _ = request(app_server.url, method, path, body, headers, timeout=1.5)
        if status >= 500:
            failures.append((status, method, path, body[:40] if body else None))
    assert not failures


def handler_calls():
    """Every event handler of ours that takes arguments, with each malformed value for each."""
    for state in STATES:
        for name, handler in state.event_handlers.items():
            parameters = list(inspect.signature(handler.fn).parameters)[1:]
            if not handler.fn.__module__.startswith("chatapp") or not parameters:
                continue  # Reflex's own handlers, and ours that take nothing
            for value in NAUGHTY:
                yield state, name, dict.fromkeys(parameters, value)


def test_event_handlers_refuse_malformed_arguments_without_failing_or_touching_data(app_server):
    name, token = sign_up_over_http(app_server)
    socket = EventSocket(app_server.url, cookie=f"helpdesk_session={token}", origin=app_server.origin)
    db = MongoClient(app_server.env["MONGODB_URI"])[app_server.db_name]
    user = db["users"].find_one({"username_key": name})
    db["threads"].insert_one({"_id": "feedfacefeedface", "owner": str(user["_id"]), "title": "Keep me",
                              "created_at": user["created_at"], "updated_at": 0, "status": "bot"})
    log_size = Path(app_server.log_path).stat().st_size
    app = psutil.Process(app_server.process.pid)
    memory = sum(p.memory_info().rss for p in [app, *app.children(recursive=True)])
    try:
        for state, handler, payload in handler_calls():
            socket.emit(event_name(state, handler), payload)
            socket.read(0.02)
        for _ in range(150):  # big ids must not grow any map kept in memory
            socket.emit(event_name(ChatState, "delete_thread"), {"chat_id": "f" * 500_000})
        socket.emit(event_name(ChatState, "load"), {})  # still answering, with the sidebar
        wait_for(lambda: socket.read(0.5) is not None and any("Keep me" in f for f in socket.received),
                 60, "the socket to still answer")
    finally:
        socket.close()
    grown = sum(p.memory_info().rss for p in [app, *app.children(recursive=True)]) - memory
    assert db["threads"].count_documents({"_id": "feedfacefeedface"}) == 1
    log = Path(app_server.log_path).read_bytes()[log_size:].decode(errors="replace")
    assert "event handler failed" not in log and "Error processing event" not in log, log[-3000:]
    assert grown < 40_000_000, f"the app grew by {grown / 1e6:.0f} MB"


def logged_error_paths(base: str, origin: str, token: str, text: str) -> None:
    """Everything a client can do that makes the server log a problem, carrying `text`."""
    cookie = f"helpdesk_session={token}"
    socket = EventSocket(base, cookie=cookie, origin=origin)
    try:
        socket.emit("reflex___state____state.no_such_state.no_such_event", {"text": text})
        socket.emit(event_name(ChatState, "no_such_handler"), {"message": text})
        socket.emit(event_name(ChatState, "send"), {"message": text, "unexpected": text})
        socket.emit(event_name(ChatState, "send"), {})
        socket.emit(event_name(ChatState, "send"), {"message": {"text": text, "client_id": text,
                                                                "chat_id": text}})
        socket.emit(event_name(SessionState, "set_unsent"), {"count": text})
        socket.emit(event_name(ChatState, "rename"), {"form_data": {"title": text, "chat_id": "x"}})
        socket.emit(event_name(ChatState, "send"), [text])
        socket.send_raw(f'42/_event,["event", "{text}"]')
        socket.send_raw(f'42/_event,{{"broken": "{text}"')
        socket.read(3)
    finally:
        socket.close()
    headers = {"Cookie": cookie, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for path in ("/api/auth/login", "/api/auth/signup", "/api/auth/accept", "/api/auth/logout"):
        request(base, "POST", path, json.dumps({"login": text, "password": text, "token": text}).encode(),
                {**headers, "Origin": "https://evil.example"})
        request(base, "POST", path, text.encode() * 2000, headers)
    request(base, "GET", f"/api/conversations/{urllib.parse.quote(text)}/events", None, headers, timeout=1)
    request(base, "GET", "/api/conversations/0123456789abcdef/events", None,
            {**headers, "Last-Event-ID": text}, timeout=1)


def assert_secret_free(log: str, token: str, text: str) -> None:
    body = token.split(".")[1]
    for secret in (token, body, text, text[-12:]):
        assert secret not in log, f"{secret!r} is in the log"


def test_the_log_never_holds_a_session_token_or_message_text(app_server):
    _, token = sign_up_over_http(app_server)
    text = f"my private question {uuid.uuid4().hex}"
    start = Path(app_server.log_path).stat().st_size
    logged_error_paths(app_server.url, app_server.origin, token, text)
    log = Path(app_server.log_path).read_bytes()[start:].decode(errors="replace")
    assert "no_such" in log  # the errors were logged, without the secrets
    assert_secret_free(log, token, text)


@pytest.fixture(scope="module")
def json_backend(database, tmp_path_factory):
    """`make backend` with LOG_FORMAT=json: the same checks, the other format."""
    port, log = free_port(), Path(tmp_path_factory.mktemp("json") / "backend.log")
    origin = f"http://localhost:{port}"
    backend = Command(["make", "-s", "backend", f"BACKEND_PORT={port}"], {
        "MONGODB_URI": database.uri, "MONGODB_DB": f"json_{uuid.uuid4().hex[:8]}", "LOG_FORMAT": "json",
        "JWT_SECRET": "json-" + "x" * 43, "API_URL": origin, "FRONTEND_ORIGINS": origin, "OPEN_ROUTER": "",
        "REFLEX_WEB_WORKDIR": str(tmp_path_factory.mktemp("web"))}, log, f"{origin}/readyz").start(180)
    backend.url, backend.origin, backend.log_path = origin, origin, log
    yield backend
    backend.stop()


def test_the_json_log_never_holds_a_session_token_or_message_text(json_backend):
    _, token = sign_up_over_http(json_backend)
    text = f"my private question {uuid.uuid4().hex}"
    logged_error_paths(json_backend.url, json_backend.origin, token, text)
    wait_for(lambda: "no_such" in json_backend.log_path.read_text(), 20, "the errors to be logged")
    lines = [json.loads(line) for line in json_backend.log_path.read_text().splitlines()
             if line.startswith('{"time"')]  # our lines (Reflex prints a banner of its own at start)
    assert any("no_such" in json.dumps(line) for line in lines) and all(line["pid"] for line in lines)
    assert_secret_free(json_backend.log_path.read_text(), token, text)


def test_pages_send_a_policy_that_the_app_passes_and_no_other_site_can_frame_them(
        new_context, app_server, browser):
    page = new_context().new_page()
    response = page.goto("/login")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "'unsafe-inline'" not in policy.split("style-src")[0]
    assert "'unsafe-eval'" not in policy and "object-src 'none'" in policy
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()  # hydrated under the policy

    site = Site().start()  # another site, embedding the app in a frame to clickjack it
    other = browser.new_context()
    try:
        attacker = other.new_page()
        blocked = []
        attacker.on("console", lambda message: "frame-ancestors" in message.text
                    and blocked.append(message.text))
        attacker.goto(site.page("/attack.html", f'<iframe src="{app_server.origin}/chat"></iframe>'))
        wait_for(lambda: blocked, 20, "Chromium to refuse the frame")
        assert attacker.frames[1].url == "chrome-error://chromewebdata/"
    finally:
        other.close()
        site.stop()

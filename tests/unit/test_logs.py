"""Log lines: one per event, JSON when asked, never a password, token or secret."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import httpx
import pytest

from chatapp import api, logs, runtime
from chatapp.config import Settings
from chatapp.services.auth import LoginRefused

SECRET = "s3cret-" * 8
PASSWORD = "hunter2 correct horse"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def settings(log_format: str) -> Settings:
    return Settings.from_env({"JWT_SECRET": SECRET, "LOG_FORMAT": log_format,
                              "OPEN_ROUTER": "sk-or-key-123456",
                              "MONGODB_URI": "mongodb://admin:db-pass-987@db1:27017,db2:27017/",
                              "REDIS_URL": "redis://:redis-pass-654@cache:6379/0"})


@pytest.fixture
def lines(capsys):
    """Configures logging as the app does (to the captured stderr) and returns its lines."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    chatapp_level = logging.getLogger("chatapp").level

    def configure(log_format: str = "json"):
        logs.configure(settings(log_format))
        return lambda: capsys.readouterr().err.splitlines()

    yield configure
    root.handlers[:], root.level = saved
    logging.getLogger("chatapp").setLevel(chatapp_level)


class RefusingAccounts:
    async def authenticate(self, token: str | None):
        return None  # no guest session to carry over

    async def log_in(self, login: str, password: str, client: str):
        raise LoginRefused("Wrong email, username or password.")


async def test_a_login_failure_is_one_json_line_without_the_password(lines, monkeypatch):
    read = lines("json")
    monkeypatch.setattr(runtime, "_services",
                        SimpleNamespace(settings=settings("json"), accounts=RefusingAccounts()))
    transport = httpx.ASGITransport(app=api.api, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/api/auth/login",
                                     json={"login": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 401
    [line] = [line for line in read() if "log-in refused" in line]
    event = json.loads(line)
    assert event["level"] == "INFO" and event["logger"] == "chatapp.api"
    assert event["client"] == "203.0.113.9" and event["locked"] is False
    for private in (PASSWORD, "alice@example.com", SECRET):
        assert private not in line


def test_secrets_and_token_shaped_strings_are_masked_in_both_formats(lines):
    for log_format in ("json", "text"):
        read = lines(log_format)
        logging.getLogger("chatapp.test").warning(
            "oops %s %s %s %s", SECRET, TOKEN, "sk-or-key-123456", "redis-pass-654",
            extra={"uri": "db-pass-987"})
        [line] = read()
        for private in (SECRET, TOKEN, "sk-or-key-123456", "db-pass-987", "redis-pass-654"):
            assert private not in line
        assert line.count(logs.MASK) == 5


def test_a_traceback_stays_on_one_line(lines):
    for log_format in ("json", "text"):
        read = lines(log_format)
        try:
            raise RuntimeError("first\nsecond")
        except RuntimeError:
            logging.getLogger("chatapp.test").exception("failed")
        [line] = read()
        assert "RuntimeError" in line
        if log_format == "json":
            assert "Traceback" in json.loads(line)["error"]


def test_the_start_up_summary_names_no_secret():
    summary = json.dumps(logs.summary(settings("json")))
    assert "db1:27017,db2:27017" in summary and "built-in" not in summary
    for private in (SECRET, "sk-or-key-123456", "db-pass-987", "admin"):
        assert private not in summary


COOKIE_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI2NGIifQ.c2lnbmF0dXJlLXRoYXQtd3JhcHM"
MESSAGE = "my private question about invoice 4711"


def reflex_event_line() -> str:
    """What Reflex logs for an event it could not process: the whole event, router data included."""
    from reflex_base.event import Event

    event = Event(name="state.chat_state.no_such_event",
                  router_data={"pathname": "/chat", "headers": {
                      "cookie": f"helpdesk_session={COOKIE_TOKEN}; theme=dark", "origin": "http://x"}},
                  payload={"message": {"text": MESSAGE, "client_id": "abc"}})
    return f"Error processing event queue entry for {event} [txid=1]:"


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_library_logging_a_failed_event_leaks_neither_cookie_nor_message(lines, log_format):
    read = lines(log_format)
    reflex = logging.getLogger("reflex_base.event.processor.event_processor")
    try:
        raise KeyError(f"no handler; payload={{'message': {MESSAGE!r}}}")
    except KeyError:
        reflex.exception(reflex_event_line())
    logging.getLogger("reflex_base.event").warning(
        "Error transforming event argument 'count' with value %r and type hint 'int'", MESSAGE)
    output = "\n".join(read())
    assert "no_such_event" in output and "count" in output  # the lines are there, without the secrets
    for private in (COOKIE_TOKEN, COOKIE_TOKEN.split(".")[1], MESSAGE, "invoice 4711"):
        assert private not in output


def test_reflex_keeps_no_handler_of_its_own_once_configured(lines):
    lines("json")
    reflex = logging.getLogger("reflex")
    assert reflex.handlers == [] and reflex.propagate


def test_header_values_are_masked_in_every_shape():
    scrub = logs.Scrubber()
    for text in (f"Cookie: helpdesk_session={COOKIE_TOKEN[:20]}",
                 f"{{'authorization': 'Bearer abc{MESSAGE}'}}", f'{{"set-cookie": "a={MESSAGE}"}}',
                 f"cookie='{MESSAGE}'"):
        assert MESSAGE not in scrub(text) and COOKIE_TOKEN[:20] not in scrub(text)
    assert scrub("headers=[(b'cookie', b'x')] and more") == f"headers={logs.MASK} and more"

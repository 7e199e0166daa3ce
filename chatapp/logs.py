"""Log lines an operator can collect: one line per event, as text or JSON (LOG_FORMAT), each
naming the process that wrote it (one of several workers).

Callers never pass passwords, tokens or message bodies. Libraries do: Reflex logs a failed
event with its router data (the cookie header) and its payload (the user's message). So every
record is scrubbed as it is made, whoever logs it and whichever handler writes it: the
configured secrets, anything shaped like a JWT, cookie and authorization header values, and
the values of event payloads, router data, headers and form data are masked. Reflex's own
log handler is removed, so its lines take the same format as ours.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chatapp.config import Settings

JWT_SHAPE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
MASK = "[redacted]"
_HEADER_NAMES = r"(?:cookie|set-cookie|authorization|proxy-authorization|x-api-key)"
# A header's value as a quoted dict/JSON entry or keyword (`'cookie': '...'`, `cookie="..."`).
_QUOTED_HEADER = re.compile(
    rf"""(?i)(['"]?{_HEADER_NAMES}['"]?\s*[:=]\s*)(['"])(?:\\.|(?!\2).)*\2""", re.S)
# A header as an HTTP line (`Cookie: a=b; c=d`), up to the end of the line.
_HEADER_LINE = re.compile(rf"""(?im)^(\s*{_HEADER_NAMES}\s*:\s*)(?!['"]).+$""")
# Keys whose whole value (a dict, list or string) may hold user text or credentials.
_PRIVATE_VALUE = re.compile(r"""(?i)(['"]?\b(?:payload|router_data|form_data|headers)['"]?\s*[:=]\s*)""")
_CLOSING = {"{": "}", "[": "]", "(": ")"}
# Reflex quotes an event argument it could not convert ("... with value 'the message' and type
# hint ...", "Received a string value (the message) but expected ..."): the value is the user's.
_QUOTED_ARGUMENT = re.compile(
    r"(with value ').*?(' and type hint)|(Received a string value \().*?(\) but expected)"
    r"|(invalid enum value \().*?(\) for type)|((?i:event data: ))[^\n]*()", re.S)
# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _value_end(text: str, start: int) -> int:
    """Where the Python/JSON value starting at `start` ends: a bracketed value with its nested
    brackets and quoted strings, a quoted string, or a bare word."""
    stack: list[str] = []
    quote = ""
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
                if not stack:
                    return i + 1
        elif char in "'\"":
            quote = char
        elif char in _CLOSING:
            stack.append(_CLOSING[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return i + 1
        elif not stack and char in ",)}]\n":
            return i
        i += 1
    return len(text)


def _mask_private_values(text: str) -> str:
    parts, position = [], 0
    for match in _PRIVATE_VALUE.finditer(text):
        if match.start() < position:
            continue  # inside a value already masked
        parts += [text[position:match.end()], MASK]
        position = _value_end(text, match.end())
    return "".join(parts) + text[position:]


class Scrubber:
    """Masks secrets and private values in a piece of log text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [secret for secret in secrets if secret]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _QUOTED_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
        text = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{MASK}", text)
        text = _QUOTED_ARGUMENT.sub(
            lambda m: "".join(part or "" for part in m.groups()[0::2]) + MASK
            + "".join(part or "" for part in m.groups()[1::2]), text)
        return JWT_SHAPE.sub(MASK, _mask_private_values(text))


_scrub = Scrubber()
_make_record = logging.getLogRecordFactory()


def _scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every record, from any logger, with its message and traceback already scrubbed, so no
    handler (ours or a library's) can write what the scrubber masks."""
    record = _make_record(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not lose the line
        message = str(record.msg)
    record.msg, record.args = _scrub(message), ()
    if record.exc_info:
        record.exc_text = _scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
        record.exc_info = None
    if record.stack_info:
        record.stack_info = _scrub(record.stack_info)
    return record


logging.setLogRecordFactory(_scrubbed_record)


class TextFormatter(logging.Formatter):
    """One readable line, scrubbed again as a whole with its `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = "".join(f" {key}={json.dumps(value, default=str)}" for key, value in _fields(record).items())
        line = (f"{_timestamp(record)} {record.levelname} [{record.process}] {record.name}: "
                f"{record.getMessage()}{pairs}")
        return _scrub(line.replace("\r", "\\r").replace("\n", "\\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; each text value is scrubbed again before it is encoded, so a
    mask never cuts into the line's structure."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": _timestamp(record), "level": record.levelname, "pid": record.process,
                "logger": record.name, "message": record.getMessage(), **_fields(record)}
        return json.dumps({key: _scrub(value) if isinstance(value, str) else value
                           for key, value in line.items()}, default=str)


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS}
    if record.exc_text:
        fields["error"] = record.exc_text
    return fields


def configure(settings: Settings) -> None:
    """Route every logger through one stderr handler in the configured format."""
    _scrub.secrets = [secret for secret in (
        settings.jwt_secret, settings.openrouter_key, urlsplit(settings.mongodb_uri).password,
        urlsplit(settings.redis_url).password) if secret]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    # Libraries get warnings only, even those that set their own loggers to DEBUG (bm25s does).
    handler.addFilter(lambda record: record.levelno >= logging.WARNING or record.name.startswith("chatapp"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Reflex writes through its own handler and stops its records from reaching ours; take its
    # lines over, and keep it from attaching its handler again (it does while it is "managed").
    os.environ["REFLEX_MANAGED_LOGGING"] = "false"
    reflex = logging.getLogger("reflex")
    reflex.handlers.clear()
    reflex.propagate = True
    # Libraries that found no handler at import added their own (python-socketio does): drop
    # them, or their lines would be written twice, once unformatted.
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and logger.propagate:
            logger.handlers.clear()
    root.setLevel(logging.WARNING)
    logging.getLogger("chatapp").setLevel(logging.INFO)


def summary(settings: Settings) -> dict[str, Any]:
    """The start-up configuration worth logging: no secrets, no database credentials."""
    database = urlsplit(settings.mongodb_uri)
    return {
        "production": settings.production,
        "api_url": settings.api_url,
        "frontend_origins": list(settings.frontend_origins),
        "database": f"{database.scheme}://{database.netloc.rpartition('@')[2]}/{settings.mongodb_db}",
        "assistant": "fake (FAKE_LLM)" if settings.fake_llm else "openrouter" if settings.openrouter_key
        else "built-in",
        "log_format": settings.log_format,
        "shared_state": "redis" if settings.redis_url else "this process",
    }

"""Log lines an operator can collect: one line per event, as text or JSON (LOG_FORMAT), each
naming the process that wrote it (one of several workers).

Callers never pass passwords, tokens or message bodies. As a safety net, the configured secrets
and anything shaped like a JWT are masked in every line before it is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chatapp.config import Settings

JWT_SHAPE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
MASK = "[redacted]"
# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class _LineFormatter(logging.Formatter):
    """Formats one record as one line and masks secrets in it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        line = self.render(record, _fields(record))
        for secret in self.secrets:
            line = line.replace(secret, MASK)
        return JWT_SHAPE.sub(MASK, line)

    def render(self, record: logging.LogRecord, fields: dict[str, Any]) -> str:
        raise NotImplementedError


class TextFormatter(_LineFormatter):
    def render(self, record: logging.LogRecord, fields: dict[str, Any]) -> str:
        pairs = "".join(f" {key}={json.dumps(value, default=str)}" for key, value in fields.items())
        line = (f"{_timestamp(record)} {record.levelname} [{record.process}] {record.name}: "
                f"{record.getMessage()}{pairs}")
        return line.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(_LineFormatter):
    def render(self, record: logging.LogRecord, fields: dict[str, Any]) -> str:
        return json.dumps(
            {"time": _timestamp(record), "level": record.levelname, "pid": record.process,
             "logger": record.name, "message": record.getMessage(), **fields},
            default=str,
        )


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS}
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


def configure(settings: Settings) -> None:
    """Route every logger through one stderr handler in the configured format."""
    secrets = (settings.jwt_secret, settings.openrouter_key, urlsplit(settings.mongodb_uri).password or "",
               urlsplit(settings.redis_url).password or "")
    formatter = JsonFormatter(secrets) if settings.log_format == "json" else TextFormatter(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    # Libraries get warnings only, even those that set their own loggers to DEBUG (bm25s does).
    handler.addFilter(lambda record: record.levelno >= logging.WARNING or record.name.startswith("chatapp"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
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
        "assistant": "openrouter" if settings.openrouter_key else "built-in",
        "log_format": settings.log_format,
        "shared_state": "redis" if settings.redis_url else "this process",
    }

"""One settings object, read once from the environment and `.env`, so every module agrees."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "please-change-this-secret"}
MIN_SECRET_LENGTH = 32
LOG_FORMATS = ("text", "json")
DEFAULT_ZONE = "Etc/UTC"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The configuration cannot run the app; the message says what to fix."""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _number(env: dict[str, str], key: str, default: float, kind: type = int):
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{key} must be {what}, got {raw!r}") from None


def _int(env: dict[str, str], key: str, default: int) -> int:
    return _number(env, key, default, int)


def _flag(env: dict[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ConfigError(f"{key} must be true or false, got {raw!r}")
    return raw in {"1", "true", "yes", "on"}


def _hours(env: dict[str, str]) -> tuple[str, str]:
    """SUPPORT_HOURS and SUPPORT_TIMEZONE, checked now so a typo stops start-up, not a handoff."""
    from chatapp.services.hours import HoursError, SupportHours

    spec, zone = env.get("SUPPORT_HOURS", "").strip(), env.get("SUPPORT_TIMEZONE", "").strip() or DEFAULT_ZONE
    try:
        SupportHours(spec, zone)
    except HoursError as error:
        raise ConfigError(str(error)) from None
    return spec, zone


def _origins(env: dict[str, str], key: str) -> tuple[str, ...]:
    """Comma-separated origins (`https://shop.example.com`), each checked, without a slash."""
    origins = tuple(origin.rstrip("/") for origin in _csv(env.get(key, "")))
    for origin in origins:
        scheme, _, host = origin.partition("://")
        if scheme not in ("http", "https") or not host or "/" in host:
            raise ConfigError(f"{key} must list origins like https://www.example.com, got {origin!r}")
    return origins


@dataclass(frozen=True)
class Settings:
    """Everything configurable; see `.env.example` for what each key means."""

    production: bool
    app_port: int
    api_url: str
    frontend_origins: tuple[str, ...]
    trusted_proxy_hops: int
    mongodb_uri: str
    mongodb_db: str
    db_timeout_ms: int
    jwt_secret: str
    session_hours: int
    cookie_name: str
    login_max_failures: int
    login_window_seconds: int
    signups_per_hour: int  # per client address
    max_streams_per_user: int  # live conversation streams one user may hold open at once
    widget_allowed_origins: tuple[str, ...]  # sites that may frame the chat widget
    widget_identity_secret: str  # signs the user ids a site passes to Helpdesk.identify()
    guest_chat: bool  # visitors may chat on /chat without an account (the widget always may)
    guests_per_hour: int  # guest sessions one client address may start per hour
    guest_messages_per_minute: int
    guest_retention_days: int  # unclaimed guests and their conversations are deleted after this
    support_hours: str  # "Mon-Fri 09:00-17:00"; empty: the team is always in
    support_timezone: str
    openrouter_key: str
    openrouter_models: tuple[str, ...]
    openrouter_base_url: str
    ai_messages_per_minute: int
    max_message_chars: int
    cache_maxsize: int
    cache_ttl_seconds: int
    llm_total_timeout: float
    shutdown_grace_seconds: float
    knowledge_dir: Path
    log_format: str
    redis_url: str  # empty: one worker, state and limits in process
    actions_enabled: bool = True  # the assistant may look things up and act (chatapp/actions)
    action_timeout_seconds: float = 5.0
    actions_per_minute: int = 10  # per customer
    max_actions_per_answer: int = 3
    fake_llm: bool = False  # `make dev`: a local fake model that streams and calls actions

    @property
    def widget_cookie(self) -> str:
        """The widget's session cookie: partitioned to the embedding site (CHIPS), so it works
        inside a third-party frame where other cookies are blocked."""
        return f"{self.cookie_name}_widget"

    @property
    def cookie_secure(self) -> bool:
        """Secure cookies only when the backend is reached over https."""
        return self.api_url.startswith("https://")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        production = env.get("APP_ENV", "").lower() in {"prod", "production"} or (
            env.get("REFLEX_ENV_MODE", "").lower() == "prod"
        )
        app_port = _int(env, "APP_PORT", 3000)
        api_url = env.get("API_URL", "").strip().rstrip("/") or f"http://localhost:{app_port}"
        origins = _csv(env.get("FRONTEND_ORIGINS", "")) or (
            f"http://localhost:{app_port}",
            f"http://127.0.0.1:{app_port}",
        )
        secret = env.get("JWT_SECRET", "").strip()
        if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            if production:
                raise ConfigError(
                    "JWT_SECRET is missing or a placeholder: set a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`) in .env or the environment."
                )
            log.warning("JWT_SECRET is not set: using a random one; sessions end on restart.")
            secret = secrets.token_urlsafe(48)
        knowledge_dir = Path(env.get("KNOWLEDGE_DIR", "").strip() or ROOT / "knowledge")
        log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
        redis_url = env.get("REDIS_URL", "").strip()
        if redis_url and not redis_url.startswith(REDIS_SCHEMES):
            raise ConfigError(f"REDIS_URL must start with {', '.join(REDIS_SCHEMES)}, got {redis_url!r}")
        return cls(
            production=production,
            app_port=app_port,
            api_url=api_url,
            frontend_origins=origins,
            trusted_proxy_hops=_int(env, "TRUSTED_PROXY_HOPS", 0),
            mongodb_uri=env.get("MONGODB_URI", "").strip() or "mongodb://127.0.0.1:27017",
            mongodb_db=env.get("MONGODB_DB", "").strip() or "helpdesk",
            db_timeout_ms=_int(env, "DB_TIMEOUT_MS", 5000),
            jwt_secret=secret,
            session_hours=_int(env, "SESSION_HOURS", 24 * 7),
            cookie_name=env.get("SESSION_COOKIE", "").strip() or "helpdesk_session",
            login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 5),
            login_window_seconds=_int(env, "LOGIN_WINDOW_SECONDS", 15 * 60),
            signups_per_hour=_int(env, "SIGNUPS_PER_HOUR", 10),
            max_streams_per_user=_int(env, "MAX_STREAMS_PER_USER", 12),
            widget_allowed_origins=_origins(env, "WIDGET_ALLOWED_ORIGINS"),
            widget_identity_secret=env.get("WIDGET_IDENTITY_SECRET", "").strip(),
            guest_chat=_flag(env, "GUEST_CHAT", False),
            guests_per_hour=_int(env, "GUESTS_PER_HOUR", 30),
            guest_messages_per_minute=_int(env, "GUEST_MESSAGES_PER_MINUTE", 10),
            guest_retention_days=_int(env, "GUEST_RETENTION_DAYS", 30),
            support_hours=_hours(env)[0],
            support_timezone=_hours(env)[1],
            openrouter_key=env.get("OPEN_ROUTER", "").strip(),
            openrouter_models=_csv(env.get("OPENROUTER_MODELS", ""))
            or (
                "meta-llama/llama-3.3-70b-instruct:free",
                "google/gemma-3-27b-it:free",
                "mistralai/mistral-small-3.2-24b-instruct:free",
            ),
            openrouter_base_url=env.get("OPENROUTER_BASE_URL", "").strip().rstrip("/")
            or "https://openrouter.ai/api/v1",
            ai_messages_per_minute=_int(env, "AI_MESSAGES_PER_MINUTE", 20),
            max_message_chars=_int(env, "MAX_MESSAGE_CHARS", 4000),
            cache_maxsize=_int(env, "CACHE_MAXSIZE", 1000),
            cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", 600),
            llm_total_timeout=_number(env, "LLM_TOTAL_TIMEOUT", 60.0, float),
            shutdown_grace_seconds=_number(env, "SHUTDOWN_GRACE_SECONDS", 20.0, float),
            knowledge_dir=knowledge_dir,
            log_format=log_format,
            redis_url=redis_url,
            actions_enabled=_flag(env, "ACTIONS_ENABLED", True),
            action_timeout_seconds=_number(env, "ACTION_TIMEOUT_SECONDS", 5.0, float),
            actions_per_minute=_int(env, "ACTIONS_PER_MINUTE", 10),
            max_actions_per_answer=_int(env, "MAX_ACTIONS_PER_ANSWER", 3),
            fake_llm=_flag(env, "FAKE_LLM", False),
        )


@cache
def get_settings() -> Settings:
    """The process-wide settings; exits with one clear line when they cannot work."""
    load_dotenv(ROOT / ".env", override=False)
    try:
        return Settings.from_env()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None

"""Settings: read once from the environment, fail fast on an unsafe production secret."""

from __future__ import annotations

import pytest

from chatapp.config import ConfigError, Settings

GOOD = "k" * 40


def test_production_refuses_a_missing_or_placeholder_secret():
    for secret in ("", "change-me", "short"):
        with pytest.raises(ConfigError, match="JWT_SECRET"):
            Settings.from_env({"APP_ENV": "production", "JWT_SECRET": secret})


def test_reflex_prod_mode_counts_as_production():
    with pytest.raises(ConfigError):
        Settings.from_env({"REFLEX_ENV_MODE": "prod"})


def test_development_generates_a_random_secret(caplog):
    first = Settings.from_env({})
    second = Settings.from_env({})
    assert len(first.jwt_secret) >= 32 and first.jwt_secret != second.jwt_secret
    assert "JWT_SECRET is not set" in caplog.text


def test_defaults_and_overrides():
    settings = Settings.from_env({"JWT_SECRET": GOOD, "APP_PORT": "3100",
                                  "OPENROUTER_MODELS": "a/b, c/d ,", "FRONTEND_ORIGINS": ""})
    assert settings.api_url == "http://localhost:3100"
    assert "http://localhost:3100" in settings.frontend_origins
    assert settings.openrouter_models == ("a/b", "c/d")
    assert not settings.cookie_secure
    assert Settings.from_env({"JWT_SECRET": GOOD, "API_URL": "https://x.example/"}).cookie_secure


def test_bad_numbers_say_which_key():
    with pytest.raises(ConfigError, match="APP_PORT"):
        Settings.from_env({"APP_PORT": "three thousand"})

"""compose.yaml against the compose spec's structure (`docker compose config` cannot run here)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import yaml

from tests.servers import ROOT

TOP_LEVEL = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
DURATION = re.compile(r"^(\d+(us|ms|s|m|h))+$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_top_level_keys_and_services(compose):
    assert set(compose) <= TOP_LEVEL
    assert set(compose["services"]) == {"app", "mongo", "redis"}
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
    assert compose["services"]["mongo"]["image"] == "mongo:7"
    assert compose["services"]["redis"]["image"] == "redis:7"
    assert compose["services"]["app"]["build"]["context"] == "."


def test_every_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert isinstance(check["test"], list) and check["test"][0] in {"CMD", "CMD-SHELL"}
        for key in ("interval", "timeout", "start_period"):
            if key in check:
                assert DURATION.match(check[key]), f"{name}: bad {key} {check[key]!r}"
    app_check = " ".join(compose["services"]["app"]["healthcheck"]["test"])
    assert "/healthz" in app_check


def test_named_volumes_are_declared_and_used(compose):
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if not source.startswith((".", "/", "~")):
                used.add(source)
    declared = set(compose.get("volumes") or {})
    assert used == declared == {"mongo-data", "redis-data"}


def test_app_waits_for_healthy_dependencies(compose):
    depends = compose["services"]["app"]["depends_on"]
    assert depends == {"mongo": {"condition": "service_healthy"},
                       "redis": {"condition": "service_healthy"}}


def test_app_environment_points_at_the_services(compose):
    env = compose["services"]["app"]["environment"]
    assert isinstance(env, dict) and all(isinstance(value, str) for value in env.values())
    mongo, redis = urlsplit(env["MONGODB_URI"]), urlsplit(env["REDIS_URL"])
    assert (mongo.scheme, mongo.hostname) == ("mongodb", "mongo")
    assert (redis.scheme, redis.hostname) == ("redis", "redis")
    # No secret in the file: compose refuses to start without one from the environment.
    assert env["JWT_SECRET"].startswith("${JWT_SECRET:?")
    assert env["SERVE_FRONTEND"] == "true"


def test_app_settings_in_compose_are_documented(compose):
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    env = set(compose["services"]["app"]["environment"])
    # REDIS_URL belongs to the multi-worker setup; scripts/serve-backend.sh reads SERVE_FRONTEND.
    assert env - {"REDIS_URL", "SERVE_FRONTEND"} <= documented

"""/healthz and /readyz against a real database server and Redis, stopped and started again."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from chatapp import api, runtime
from chatapp.config import Settings
from tests.servers import DatabaseServer, RedisServer


@pytest.fixture
async def probe(monkeypatch):
    """GET a probe path on the routes of a process whose services use the given database URI."""
    built: list[runtime.Services] = []

    async def get(uri: str, path: str, redis_url: str = "") -> httpx.Response:
        if not built:
            settings = Settings.from_env({"MONGODB_URI": uri, "JWT_SECRET": "k" * 48,
                                          "MONGODB_DB": f"probe_{uuid.uuid4().hex[:8]}",
                                          "REDIS_URL": redis_url})
            built.append(runtime.build(settings))
            monkeypatch.setattr(runtime, "_services", built[0])
        transport = httpx.ASGITransport(app=api.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    yield get
    for services in built:
        services.store.close()
        if services.redis is not None:
            await services.redis.aclose()


async def test_liveness_and_readiness_with_the_database_up(probe, database):
    alive = await probe(database.uri, "/healthz")
    assert alive.status_code == 200 and alive.json() == {"alive": True}
    ready = await probe(database.uri, "/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "failing": []}


async def test_readiness_fails_within_a_second_while_the_database_is_down(probe):
    server = DatabaseServer().start()
    try:
        assert (await probe(server.uri, "/readyz")).status_code == 200
        server.stop()
        started = time.monotonic()
        down = await probe(server.uri, "/readyz")
        assert time.monotonic() - started < 2  # DB_TIMEOUT_MS is 5 s; the probe waits 1 s
        assert down.status_code == 503
        assert down.json() == {"ready": False, "failing": ["database"]}
        assert (await probe(server.uri, "/healthz")).status_code == 200

        server.start()
        deadline = time.monotonic() + 15
        while (await probe(server.uri, "/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "/readyz did not recover after the database came back"
            await asyncio.sleep(0.2)
    finally:
        server.stop()


async def test_readiness_names_redis_while_it_is_down_when_workers_share_it(probe, database):
    redis = RedisServer().start()
    try:
        assert (await probe(database.uri, "/readyz", redis.url)).status_code == 200
        redis.stop()
        down = await probe(database.uri, "/readyz", redis.url)
        assert down.status_code == 503 and down.json() == {"ready": False, "failing": ["redis"]}
        redis.start()
        assert (await probe(database.uri, "/readyz", redis.url)).status_code == 200
    finally:
        redis.stop()

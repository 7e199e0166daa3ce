"""Shared fixtures: one real database server (and, for the tests that need it, one Redis)
for the whole run."""

from __future__ import annotations

import pytest

from tests.servers import DatabaseServer, RedisServer


@pytest.fixture(scope="session")
def database():
    server = DatabaseServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()

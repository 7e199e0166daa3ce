"""Shared fixtures: one real database server for the whole run."""

from __future__ import annotations

import pytest

from tests.servers import DatabaseServer


@pytest.fixture(scope="session")
def database():
    server = DatabaseServer().start()
    yield server
    server.stop()

"""Integration fixtures: a fresh database on the shared real database server, per test."""

from __future__ import annotations

import uuid

import pytest

from chatapp.services.store import Store
from chatapp.services.threads import Threads


@pytest.fixture
async def threads(database):
    store = Store(database.uri, f"it_{uuid.uuid4().hex[:8]}", timeout_ms=3000)
    threads = Threads(store.db)
    await threads.ensure_indexes()
    yield threads
    await store.client.drop_database(store.db.name)
    store.close()

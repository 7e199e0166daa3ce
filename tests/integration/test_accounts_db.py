"""Accounts against the real database server over the MongoDB wire protocol."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from chatapp.services.auth import Accounts, SignupRejected, TokenCodec
from chatapp.services.ratelimit import MemoryRateLimiter
from chatapp.services.store import Store


@pytest.fixture
async def store(database):
    store = Store(database.uri, f"test_{uuid.uuid4().hex[:8]}", timeout_ms=3000)
    await store.ensure_indexes()
    yield store
    await store.client.drop_database(store.db.name)
    store.close()


@pytest.fixture
def accounts(store):
    return Accounts(store.users, TokenCodec("k" * 48, timedelta(hours=1)), MemoryRateLimiter())


async def test_twenty_concurrent_signups_of_one_name_create_exactly_one_account(accounts, store):
    async def attempt(n: int):
        try:
            await accounts.sign_up("Racer", f"racer{n}@example.com", "correct horse", f"10.0.0.{n}")
        except SignupRejected as rejected:
            return rejected.errors
        return "created"

    results = await asyncio.gather(*(attempt(n) for n in range(20)))
    assert results.count("created") == 1
    assert all(r == {"username": "That username is already taken."}
               for r in results if r != "created")
    assert await store.db["users"].count_documents({"username_key": "racer"}) == 1


async def test_concurrent_signups_with_one_email_in_different_case(accounts, store):
    results = await asyncio.gather(
        *(accounts.sign_up(f"user{n}", email, "correct horse", f"10.0.1.{n}")
          for n, email in enumerate(["same@example.com", "SAME@example.com", "Same@Example.COM"] * 2)),
        return_exceptions=True,
    )
    created = [r for r in results if not isinstance(r, Exception)]
    assert len(created) == 1
    assert all(isinstance(r, SignupRejected) and "email" in r.errors
               for r in results if isinstance(r, Exception))


async def test_the_password_is_stored_only_as_a_hash(accounts, store):
    await accounts.sign_up("hashme", "hash@example.com", "correct horse", "10.0.2.1")
    doc = await store.db["users"].find_one({"username_key": "hashme"})
    assert doc["password_hash"].startswith("$argon2") and "correct horse" not in str(doc)


async def test_log_out_revokes_tokens_in_the_database(accounts):
    _, token = await accounts.sign_up("leaver", "leaver@example.com", "correct horse", "10.0.2.2")
    assert await accounts.authenticate(token)
    await accounts.log_out(token)
    assert await accounts.authenticate(token) is None


async def test_unique_indexes_survive_a_database_restart(tmp_path):
    from tests.servers import DatabaseServer

    server = DatabaseServer(str(tmp_path / "restart.db")).start()
    try:
        store = Store(server.uri, "restart", timeout_ms=3000)
        await store.ensure_indexes()
        await store.users.create("keeper", "keeper@example.com", "x")
        store.close()
        server.stop()
        server.start()
        store = Store(server.uri, "restart", timeout_ms=3000)
        await store.ensure_indexes()
        accounts = Accounts(store.users, TokenCodec("k" * 48, timedelta(hours=1)),
                            MemoryRateLimiter())
        with pytest.raises(SignupRejected) as taken:
            await accounts.sign_up("KEEPER", "new@example.com", "correct horse", "10.0.2.3")
        assert "username" in taken.value.errors
        store.close()
    finally:
        server.stop()

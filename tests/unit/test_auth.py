"""Accounts: hashing, session tokens, validation rules and the login lock-out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chatapp.models import User
from chatapp.services.auth import (
    BAD_LOGIN,
    Accounts,
    LoginRefused,
    SignupRejected,
    TokenCodec,
    TooManySignups,
    hash_password,
    validate_signup,
    verify_password,
)
from chatapp.services.ratelimit import MemoryRateLimiter
from chatapp.services.store import DuplicateUser

SECRET = "s" * 48
USER = User(id="64b000000000000000000001", username="ada", email="ada@example.com",
            token_version=0, created_at=datetime.now(UTC))


def test_password_hash_verifies_only_the_right_password():
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2")
    assert "correct horse" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse battery!", stored)
    assert not verify_password("anything", "not-a-hash")


def test_same_password_hashes_differently():
    assert hash_password("password123") != hash_password("password123")


def test_token_round_trip_carries_user_and_version():
    codec = TokenCodec(SECRET, timedelta(hours=1))
    claims = codec.decode(codec.issue(USER))
    assert claims["sub"] == USER.id and claims["tv"] == 0
    assert claims["exp"] > claims["iat"] and claims["jti"]


def test_each_token_has_a_unique_id():
    codec = TokenCodec(SECRET, timedelta(hours=1))
    assert codec.decode(codec.issue(USER))["jti"] != codec.decode(codec.issue(USER))["jti"]


def test_expired_token_is_refused():
    codec = TokenCodec(SECRET, timedelta(seconds=-1))
    assert codec.decode(codec.issue(USER)) is None


def test_tampered_signature_is_refused():
    codec = TokenCodec(SECRET, timedelta(hours=1))
    head, body, signature = codec.issue(USER).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert codec.decode(f"{head}.{body}.{flipped}") is None


def test_tampered_claims_are_refused():
    codec = TokenCodec(SECRET, timedelta(hours=1))
    forged = jwt.encode({"sub": "someone-else", "tv": 0, "iat": datetime.now(UTC),
                         "exp": datetime.now(UTC) + timedelta(hours=1), "jti": "x"},
                        "another-secret-another-secret-another-secret", algorithm="HS256")
    assert codec.decode(forged) is None


def test_alg_none_is_refused():
    codec = TokenCodec(SECRET, timedelta(hours=1))
    unsigned = jwt.encode({"sub": USER.id, "tv": 0, "iat": datetime.now(UTC),
                           "exp": datetime.now(UTC) + timedelta(hours=1), "jti": "x"},
                          None, algorithm="none")
    assert codec.decode(unsigned) is None


def test_wrong_secret_is_refused():
    token = TokenCodec(SECRET, timedelta(hours=1)).issue(USER)
    assert TokenCodec("t" * 48, timedelta(hours=1)).decode(token) is None


def test_garbage_token_is_refused():
    codec = TokenCodec(SECRET, timedelta(hours=1))
    for garbage in ("", "abc", "a.b.c", "x" * 5000):
        assert codec.decode(garbage) is None


@pytest.mark.parametrize("username", ["abc", "a_b-c", "User_32" + "x" * 25, "007"])
def test_valid_usernames(username):
    assert "username" not in validate_signup(username, "a@example.com", "password1")


@pytest.mark.parametrize("username", ["ab", "x" * 33, "has space", "dots.not.ok", "émile", ""])
def test_invalid_usernames(username):
    assert "username" in validate_signup(username, "a@example.com", "password1")


@pytest.mark.parametrize("email", ["a@example.com", "first.last+tag@mail.example.org"])
def test_valid_emails(email):
    assert "email" not in validate_signup("alice", email, "password1")


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a@@b.com", "a b@c.com", "a@b.c", "@x.com"])
def test_invalid_emails(email):
    assert "email" in validate_signup("alice", email, "password1")


def test_password_length_rules():
    assert "password" in validate_signup("alice", "a@example.com", "1234567")
    assert "password" not in validate_signup("alice", "a@example.com", "12345678")
    assert validate_signup("ab", "bad", "short").keys() == {"username", "email", "password"}


class FakeUsers:
    """In-memory stand-in for the users repository (the real one is tested against the DB)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[User, str]] = {}

    async def create(self, username, email, password_hash):
        for user, _ in self.rows.values():
            if user.username.casefold() == username.casefold():
                raise DuplicateUser("username")
            if user.email.casefold() == email.casefold():
                raise DuplicateUser("email")
        user = User(id=f"{len(self.rows) + 1:024x}", username=username, email=email,
                    token_version=0, created_at=datetime.now(UTC))
        self.rows[user.id] = (user, password_hash)
        return user

    async def find_for_login(self, login):
        key = login.strip().casefold()
        for user, password_hash in self.rows.values():
            if key in (user.username.casefold(), user.email.casefold()):
                return user, password_hash
        return None

    async def get(self, user_id):
        row = self.rows.get(user_id)
        return row[0] if row else None

    async def revoke_sessions(self, user_id):
        user, password_hash = self.rows[user_id]
        self.rows[user_id] = (
            User(user.id, user.username, user.email, user.token_version + 1, user.created_at),
            password_hash,
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def accounts(clock):
    return Accounts(FakeUsers(), TokenCodec(SECRET, timedelta(hours=1)),
                    MemoryRateLimiter(clock=clock), max_failures=5, window_seconds=900)


async def test_sign_up_then_log_in_by_name_or_email(accounts):
    user, token = await accounts.sign_up(" ada ", "Ada@Example.com", "correct horse", "10.8.0.1")
    assert user.username == "ada"
    assert (await accounts.authenticate(token)).id == user.id
    for login in ("ada", "ADA", "ada@example.com"):
        logged_in, _ = await accounts.log_in(login, "correct horse", "10.0.0.1")
        assert logged_in.id == user.id


async def test_duplicates_are_refused_without_regard_to_case(accounts):
    await accounts.sign_up("ada", "ada@example.com", "correct horse", "10.8.0.1")
    with pytest.raises(SignupRejected) as taken:
        await accounts.sign_up("ADA", "other@example.com", "correct horse", "10.8.0.1")
    assert "username" in taken.value.errors
    with pytest.raises(SignupRejected) as exists:
        await accounts.sign_up("grace", "ADA@example.com", "correct horse", "10.8.0.1")
    assert "email" in exists.value.errors


async def test_wrong_password_and_unknown_user_get_the_same_message(accounts):
    await accounts.sign_up("ada", "ada@example.com", "correct horse", "10.8.0.1")
    with pytest.raises(LoginRefused) as wrong:
        await accounts.log_in("ada", "wrong password", "10.0.0.1")
    with pytest.raises(LoginRefused) as unknown:
        await accounts.log_in("nobody", "wrong password", "10.0.0.2")
    assert str(wrong.value) == str(unknown.value) == BAD_LOGIN


async def test_five_failures_lock_the_account_even_with_the_right_password(accounts, clock):
    await accounts.sign_up("ada", "ada@example.com", "correct horse", "10.8.0.1")
    for attempt in range(5):
        with pytest.raises(LoginRefused):
            await accounts.log_in("ada", f"guess {attempt}", f"10.0.0.{attempt}")
    with pytest.raises(LoginRefused) as locked:
        await accounts.log_in("ada", "correct horse", "10.9.9.9")
    assert locked.value.retry_after > 0
    assert "Try again in 15 minutes" in str(locked.value)
    clock.now += 901
    user, _ = await accounts.log_in("ada", "correct horse", "10.9.9.9")
    assert user.username == "ada"


async def test_five_failures_from_one_address_lock_that_address(accounts):
    await accounts.sign_up("ada", "ada@example.com", "correct horse", "10.8.0.1")
    await accounts.sign_up("grace", "grace@example.com", "correct horse", "10.8.0.1")
    for attempt in range(5):
        with pytest.raises(LoginRefused):
            await accounts.log_in(f"stranger{attempt}", "guess", "10.6.6.6")
    with pytest.raises(LoginRefused) as locked:
        await accounts.log_in("ada", "correct horse", "10.6.6.6")
    assert locked.value.retry_after > 0
    # Someone else, elsewhere, is unaffected by those failures.
    user, _ = await accounts.log_in("grace", "correct horse", "10.1.1.1")
    assert user.username == "grace"


async def test_log_out_revokes_copied_tokens(accounts):
    _, first = await accounts.sign_up("ada", "ada@example.com", "correct horse", "10.8.0.1")
    _, second = await accounts.log_in("ada", "correct horse", "10.0.0.1")
    await accounts.log_out(first)
    assert await accounts.authenticate(first) is None
    assert await accounts.authenticate(second) is None
    _, fresh = await accounts.log_in("ada", "correct horse", "10.0.0.1")
    assert (await accounts.authenticate(fresh)).username == "ada"


async def test_parallel_guesses_verify_at_most_the_limit_of_passwords(accounts):
    """40 log-ins at once, 39 wrong then the right one: before, every request in flight passed
    the check and the right password got in; now at most 5 passwords are ever verified."""
    await accounts.sign_up("ada", "ada@example.com", "correct horse", "10.8.0.1")
    guesses = [f"guess {n}" for n in range(39)] + ["correct horse"]
    results = await asyncio.gather(*(accounts.log_in("ada", guess, f"10.1.{n}.1")
                                     for n, guess in enumerate(guesses)), return_exceptions=True)
    verified = [r for r in results if not isinstance(r, LoginRefused) or str(r) == BAD_LOGIN]
    locked = [r for r in results if isinstance(r, LoginRefused) and r.retry_after > 0]
    assert len(verified) <= 5 and len(locked) >= 35
    with pytest.raises(LoginRefused) as still_locked:
        await accounts.log_in("ada", "correct horse", "10.9.9.9")
    assert still_locked.value.retry_after > 0


async def test_username_and_email_share_one_counter(accounts):
    await accounts.sign_up("ada", "ada@example.com", "correct horse", "10.8.0.1")
    for attempt, login in enumerate(["ada", "ADA@example.com", "ada", "ada@EXAMPLE.com", "Ada"]):
        with pytest.raises(LoginRefused) as wrong:
            await accounts.log_in(login, "guess", f"10.2.0.{attempt}")
        assert str(wrong.value) == BAD_LOGIN
    with pytest.raises(LoginRefused) as locked:
        await accounts.log_in("ada@example.com", "correct horse", "10.2.9.9")
    assert locked.value.retry_after > 0


async def test_sign_ups_from_one_address_are_limited_per_hour(accounts, clock):
    for n in range(10):
        await accounts.sign_up(f"user{n}", f"user{n}@example.com", "correct horse", "10.7.7.7")
    with pytest.raises(TooManySignups) as limited:
        await accounts.sign_up("user10", "user10@example.com", "correct horse", "10.7.7.7")
    assert limited.value.retry_after > 0 and "Try again in" in str(limited.value)
    await accounts.sign_up("other", "other@example.com", "correct horse", "10.7.7.8")
    clock.now += 3601
    await accounts.sign_up("user10", "user10@example.com", "correct horse", "10.7.7.7")

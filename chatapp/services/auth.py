"""Accounts: validation, password hashing, session tokens and the login lock-out."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from passlib.context import CryptContext
from pymongo.errors import PyMongoError

from chatapp.models import User
from chatapp.services.ratelimit import RateLimiter, wait_phrase
from chatapp.services.store import DuplicateUser, StoreUnavailable, Users

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
# Deliberately simple: one @, a dot in the domain, no spaces. Real delivery is the true check.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
JWT_ALGORITHM = "HS256"
BAD_LOGIN = "Wrong email/username or password."

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _passwords.verify(password, password_hash)
    except (ValueError, TypeError):
        return False


# Verifying against this keeps an unknown user as slow as a wrong password (no user probing).
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def validate_signup(username: str, email: str, password: str) -> dict[str, str]:
    """Field name -> the problem with it, in words for the user; empty when all is well."""
    errors: dict[str, str] = {}
    if not USERNAME_RE.fullmatch(username):
        errors["username"] = (
            "Use 3 to 32 characters: letters, digits, underscores (_) or hyphens (-)."
        )
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        errors["email"] = "Enter a valid email address, like name@example.com."
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Use at least {MIN_PASSWORD} characters."
    elif len(password) > MAX_PASSWORD:
        errors["password"] = f"Use at most {MAX_PASSWORD} characters."
    return errors


@dataclass(frozen=True)
class TokenCodec:
    """Issues and checks HS256 session tokens; `tv` ties a token to the user's token version."""

    secret: str
    lifetime: timedelta

    def issue(self, user: User) -> str:
        issued = datetime.now(UTC)
        claims = {
            "sub": user.id,
            "tv": user.token_version,
            "iat": issued,
            "exp": issued + self.lifetime,
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self.secret, algorithm=JWT_ALGORITHM)

    def decode(self, token: str) -> dict | None:
        """The claims of a valid, unexpired token signed with our secret; None otherwise."""
        try:
            return jwt.decode(
                token,
                self.secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["sub", "tv", "iat", "exp", "jti"]},
            )
        except jwt.PyJWTError:
            return None


class SignupRejected(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class LoginRefused(Exception):
    """Wrong credentials or locked out; `retry_after` > 0 for a lock-out."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Accounts:
    """Sign-up, log-in with lock-out, session checks and log-out."""

    def __init__(
        self,
        users: Users,
        tokens: TokenCodec,
        limiter: RateLimiter,
        max_failures: int = 5,
        window_seconds: float = 900,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.limiter = limiter
        self.max_failures = max_failures
        self.window = window_seconds

    async def sign_up(self, username: str, email: str, password: str) -> tuple[User, str]:
        username, email = username.strip(), email.strip()
        errors = validate_signup(username, email, password)
        if errors:
            raise SignupRejected(errors)
        password_hash = await asyncio.to_thread(hash_password, password)
        try:
            user = await self.users.create(username, email, password_hash)
        except DuplicateUser as duplicate:
            message = {
                "username": "That username is already taken.",
                "email": "An account with that email already exists. Try logging in.",
            }[duplicate.field]
            raise SignupRejected({duplicate.field: message}) from None
        return user, self.tokens.issue(user)

    async def log_in(self, login: str, password: str, client: str) -> tuple[User, str]:
        account_key = f"login:account:{login.strip().casefold()}"
        client_key = f"login:client:{client}"
        for key in (account_key, client_key):
            failures, wait = await self.limiter.count(key, self.window)
            if failures >= self.max_failures:
                raise LoginRefused(
                    f"Too many failed attempts. Try again {wait_phrase(wait)}.", max(wait, 1.0)
                )
        found = await self.users.find_for_login(login) if login.strip() else None
        password_hash = found[1] if found else _DUMMY_HASH
        valid = await asyncio.to_thread(verify_password, password, password_hash)
        if not (found and valid):
            for key in (account_key, client_key):
                await self.limiter.add(key, self.window)
            raise LoginRefused(BAD_LOGIN)
        await self.limiter.reset(account_key)
        user = found[0]
        return user, self.tokens.issue(user)

    async def authenticate(self, token: str | None) -> User | None:
        """The user a session token belongs to, if it is valid and not revoked."""
        claims = self.tokens.decode(token) if token else None
        if not claims:
            return None
        try:
            user = await self.users.get(str(claims["sub"]))
        except PyMongoError as error:
            raise StoreUnavailable from error
        if not user or user.token_version != claims["tv"]:
            return None
        return user

    async def log_out(self, token: str | None) -> None:
        user = await self.authenticate(token)
        if user:
            await self.users.revoke_sessions(user.id)

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

from chatapp.models import GUEST, User
from chatapp.services.ratelimit import RateLimiter, wait_phrase
from chatapp.services.store import DuplicateUser, StoreUnavailable, Users

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
# Deliberately simple: one @, a dot in the domain, no spaces. Real delivery is the true check.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
JWT_ALGORITHM = "HS256"
BAD_LOGIN = "Wrong email/username or password."
DEACTIVATED = "This account was deactivated. Ask an admin of your support team."

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
        if user.is_guest:  # a guest is a session before it is an account: the name rides along
            claims |= {"g": 1, "n": user.username}
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


def _unstored_guest(claims: dict) -> User:
    return User(id=str(claims["sub"]), username=str(claims.get("n", "Guest"))[:40], email="",
                token_version=0, created_at=datetime.fromtimestamp(claims["iat"], UTC), role=GUEST)


class TooManySignups(Exception):
    """The client address created its share of accounts this hour; `str(error)` says when to retry."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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
        signups_per_hour: int = 10,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.limiter = limiter
        self.max_failures = max_failures
        self.window = window_seconds
        self.signups_per_hour = signups_per_hour

    async def sign_up(self, username: str, email: str, password: str, client: str
                      ) -> tuple[User, str]:
        username, email = username.strip(), email.strip()
        errors = validate_signup(username, email, password)
        if errors:
            raise SignupRejected(errors)
        event, wait = await self.limiter.hit(f"signup:client:{client}", self.signups_per_hour, 3600)
        if not event:
            raise TooManySignups("Too many accounts were created from your network. "
                                 f"Try again {wait_phrase(wait)}.", max(wait, 1.0))
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
        """Each attempt is counted before its password is checked, against the account it names
        (however it was typed: username or email) and against the client address, so at most
        `max_failures` wrong passwords are ever tried per window, however many arrive at once."""
        found = await self.users.find_for_login(login) if login.strip() else None
        account_key = (f"login:account:{found[0].id}" if found
                       else f"login:unknown:{login.strip().casefold()[:320]}")
        attempts: list[tuple[str, str]] = []
        for key in (account_key, f"login:client:{client}"):
            event, wait = await self.limiter.hit(key, self.max_failures, self.window)
            if not event:
                for counted_key, counted in attempts:  # this attempt never reached a password
                    await self.limiter.forget(counted_key, counted)
                raise LoginRefused(
                    f"Too many failed attempts. Try again {wait_phrase(wait)}.", max(wait, 1.0))
            attempts.append((key, event))
        password_hash = found[1] if found else _DUMMY_HASH
        valid = await asyncio.to_thread(verify_password, password, password_hash)
        if not (found and valid):
            raise LoginRefused(BAD_LOGIN)
        if not found[0].active:  # told only to whoever knows the password
            raise LoginRefused(DEACTIVATED)
        await self.limiter.reset(account_key)
        await self.limiter.forget(*attempts[1])  # a success is not a failure of this address
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
        if user is None and claims.get("g") == 1 and claims["tv"] == 0:
            return _unstored_guest(claims)  # it has not written yet
        if not user or user.token_version != claims["tv"] or not user.active:
            return None
        return user

    def guest_session(self, guest: User) -> str:
        return self.tokens.issue(guest)

    async def log_out(self, token: str | None) -> None:
        user = await self.authenticate(token)
        if user:
            await self.users.revoke_sessions(user.id)

"""`make admin EMAIL=... [PASSWORD=...]`: create the first admin (or promote an account), and
either set its password or print a one-time link to set it (valid for 24 hours).

The password comes from the PASSWORD environment variable, never the command line (where any
user of the machine could read it)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatapp.config import get_settings
from chatapp.services.auth import Accounts, TokenCodec
from chatapp.services.ratelimit import MemoryRateLimiter
from chatapp.services.store import Store
from chatapp.services.team import Team, TeamError


async def main(email: str, password: str | None) -> int:
    settings = get_settings()
    store = Store(settings.mongodb_uri, settings.mongodb_db, settings.db_timeout_ms)
    try:
        await store.ensure_indexes()
        codec = TokenCodec(settings.jwt_secret, timedelta(hours=settings.session_hours))
        accounts = Accounts(store.users, codec, MemoryRateLimiter())
        team = Team(store.db, store.users, accounts)
        await team.ensure_indexes()
        user, link = await team.make_admin(email, password)
    except TeamError as error:
        print(f"admin: {error}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if link is None:
        print(f"admin: {user.email} is an admin (username {user.username}); log in at "
              f"{settings.frontend_origins[0]}/login")
    else:
        print(f"admin: {user.email} is an admin (username {user.username}). Set the password at\n"
              f"  {settings.frontend_origins[0]}/welcome/{link.token}\n"
              "This link works once, for 24 hours.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("email")
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.email, os.environ.get("PASSWORD") or None)))

"""Who answers on an embedded-database port: this checkout's server, another one, or nobody.

Used by scripts/db.sh, which must never take another checkout's server (holding the same
port) for its own: the server reports its pid (serverStatus), and that process's command
line names its data file. Prints one word, then details: `ours <pid>`, `other <pid> <db>`,
`foreign` (something that is not nx-27017) or `free`.
Usage: db_owner.py PORT DB_PATH
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError


def _db_path(pid: int) -> str:
    """The --db argument of process `pid`, resolved, or "" when it cannot be read."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    args = [arg.decode(errors="replace") for arg in argv]
    if "--db" in args and args.index("--db") + 1 < len(args):
        return str(Path(args[args.index("--db") + 1]).resolve())
    return ""


def owner(port: int, db_path: str) -> str:
    with socket.socket() as probe:
        probe.settimeout(0.3)
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            return "free"
    client = MongoClient(f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=1500,
                         connectTimeoutMS=1500, directConnection=True)
    try:
        status = client.admin.command("serverStatus")
    except PyMongoError:
        return "foreign"
    finally:
        client.close()
    pid = int(status.get("pid") or 0)
    served = _db_path(pid) if pid else ""
    if pid and served == str(Path(db_path).resolve()):
        return f"ours {pid}"
    return f"other {pid or '?'} {served or 'unknown'}"


if __name__ == "__main__":
    print(owner(int(sys.argv[1]), sys.argv[2]))

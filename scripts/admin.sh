#!/usr/bin/env bash
# `make admin EMAIL=... [PASSWORD=...]`: the first admin, on the same database `make run` uses.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${EMAIL:?set EMAIL, e.g. make admin EMAIL=you@example.com}"
PASSWORD=${PASSWORD:-}
. scripts/prepare.sh
export PASSWORD  # read from the environment, never the command line
exec .venv/bin/python scripts/admin.py "$EMAIL"

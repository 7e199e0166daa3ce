#!/usr/bin/env bash
# `make test`: install what the tests need (venv, test tools, Chromium, bun), then run every test,
# unit to browser. The tests start their own database server and app.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --dev

# Chromium for the browser tests, redis-server for the multi-worker ones.
missing=""
[ -x /usr/bin/chromium ] || missing=" chromium"
command -v redis-server >/dev/null || missing="$missing redis-server"
if [ -n "$missing" ]; then
  echo "test: installing$missing from apt"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

export REFLEX_USE_SYSTEM_BUN=1 PYTHONDONTWRITEBYTECODE=1
.venv/bin/ruff check .
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# Two runs: Playwright's sync API (browser tests) keeps its own event loop, which cannot share
# a process with the asyncio tests.
.venv/bin/python -m pytest tests/unit tests/integration
.venv/bin/python -m pytest tests/e2e

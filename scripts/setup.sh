#!/usr/bin/env bash
# Installs what the app needs, idempotently: a venv with requirements.txt, and bun (from npm).
# Re-running only reinstalls when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

install_requirements() {  # file... : pip install when their content changed since last time
  local stamp="$VENV/.installed-$(basename "$1" .txt)"
  local sum
  sum=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    echo "setup: installing $*"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    for file in "$@"; do "$VENV/bin/python" -m pip install --quiet -r "$file"; done
    echo "$sum" > "$stamp"
  fi
}

install_requirements requirements.txt
if [ "${1:-}" = "--dev" ]; then
  install_requirements requirements-dev.txt requirements.txt
fi

if ! command -v bun >/dev/null 2>&1; then
  command -v npm >/dev/null 2>&1 || { echo "setup: Node.js 20+ with npm is required (apt-get install nodejs npm)" >&2; exit 1; }
  echo "setup: installing bun from the npm registry"
  npm install --global --silent bun@1.4.4
fi

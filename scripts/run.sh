#!/usr/bin/env bash
# `make run`: set up, create .env on first run, start the embedded database unless MONGODB_URI
# is set, and serve the app in production mode on APP_PORT (default 3000).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/prepare.sh APP_PORT
APP_PORT=${APP_PORT:-3000}

export REFLEX_USE_SYSTEM_BUN=1 APP_PORT
echo "run: serving http://localhost:$APP_PORT"
exec .venv/bin/reflex run --env prod --single-port \
  --frontend-port "$APP_PORT" --backend-port "$APP_PORT" --loglevel "${LOG_LEVEL:-warning}"

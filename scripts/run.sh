#!/usr/bin/env bash
# `make run`: set up, create .env on first run, start the embedded database unless MONGODB_URI
# is set, and serve the app in production mode on APP_PORT (default 3000).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/prepare.sh APP_PORT APP_ENV
APP_PORT=${APP_PORT:-3000}

# Production settings unless .env says otherwise (a placeholder JWT_SECRET stops start-up):
# `reflex run --env prod` alone leaves the app's settings reading development.
export REFLEX_USE_SYSTEM_BUN=1 APP_PORT APP_ENV="${APP_ENV:-production}"
echo "run: serving http://localhost:$APP_PORT"
exec .venv/bin/reflex run --env prod --single-port \
  --frontend-port "$APP_PORT" --backend-port "$APP_PORT" --loglevel "${LOG_LEVEL:-warning}"

#!/usr/bin/env bash
# `make backend`: the backend alone (API, event socket, probes) in production mode on
# BACKEND_PORT (default 8000), for a frontend exported with `make export` and served elsewhere.
# Like `make run`, it starts the embedded database unless MONGODB_URI is set.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/prepare.sh FRONTEND_ORIGINS WORKERS REDIS_URL
if [ -z "$FRONTEND_ORIGINS" ]; then
  # The app's own origin means nothing without a frontend: allow `make serve-export`'s.
  FRONTEND_ORIGINS="http://localhost:${EXPORT_PORT:-3001},http://127.0.0.1:${EXPORT_PORT:-3001}"
  echo "backend: FRONTEND_ORIGINS is not set; allowing $FRONTEND_ORIGINS"
fi

export FRONTEND_ORIGINS WORKERS REDIS_URL APP_PORT="${BACKEND_PORT:-8000}" SERVE_FRONTEND=false PATH="$PWD/.venv/bin:$PATH"
echo "backend: serving http://localhost:$APP_PORT"
exec scripts/serve-backend.sh

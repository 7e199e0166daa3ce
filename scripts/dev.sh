#!/usr/bin/env bash
# `make dev`: the app in Reflex's development mode, for working on it. Like `make run` it sets up
# what is missing, creates .env on first run and starts the embedded database unless MONGODB_URI
# is set (scripts/prepare.sh); then it serves the frontend (Vite, hot module reload) on APP_PORT
# (default 3000) and the backend on BACKEND_PORT (default 8000), and restarts the backend, which
# recompiles the pages, whenever a file under chatapp/, assets/ or rxconfig.py changes.
# FAKE_LLM=1 unless set: a local fake model streams answers and calls actions, no key needed
# (`FAKE_LLM=0 make dev` for OpenRouter with OPEN_ROUTER, or the built-in responder without).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/prepare.sh APP_PORT BACKEND_PORT API_URL FAKE_LLM JWT_SECRET LOG_LEVEL
APP_PORT=${APP_PORT:-3000}
BACKEND_PORT=${BACKEND_PORT:-8000}
# The frontend is served apart from the backend here: the pages must call the backend's port.
# (FRONTEND_ORIGINS, when empty, already names http://localhost:$APP_PORT and 127.0.0.1.)
API_URL=${API_URL:-http://localhost:$BACKEND_PORT}

# Each reload starts a new backend process: a random JWT_SECRET per process (the app's fallback
# outside production) would log everybody out on every edit. Keep one dev secret in data/.
if [ "${#JWT_SECRET}" -lt 32 ]; then  # missing or a placeholder (see chatapp/config.py)
  mkdir -p data
  if [ ! -s data/dev-jwt-secret ]; then
    (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))" > data/dev-jwt-secret)
  fi
  JWT_SECRET=$(cat data/dev-jwt-secret)
  echo "dev: JWT_SECRET is missing or a placeholder; using the development one in data/dev-jwt-secret"
fi

# The backend reloads through Granian's file watcher (Reflex 0.10 picks Uvicorn only when gunicorn
# is installed too). By default it watches every folder of the checkout, data/ too, where the
# database writes on each message; watch the app's code only. REFLEX_HOT_RELOAD_OVERRIDE_PATHS
# (colon-separated) chooses others.
REFLEX_HOT_RELOAD_OVERRIDE_PATHS=${REFLEX_HOT_RELOAD_OVERRIDE_PATHS:-$PWD/chatapp:$PWD/assets:$PWD/rxconfig.py}

export REFLEX_USE_SYSTEM_BUN=1 REFLEX_HOT_RELOAD_OVERRIDE_PATHS APP_ENV=development \
  APP_PORT BACKEND_PORT API_URL JWT_SECRET FAKE_LLM="${FAKE_LLM:-1}"
echo "dev: serving http://localhost:$APP_PORT (backend on $API_URL, FAKE_LLM=$FAKE_LLM); edits reload"
exec .venv/bin/reflex run --env dev \
  --frontend-port "$APP_PORT" --backend-port "$BACKEND_PORT" --loglevel "${LOG_LEVEL:-info}"

#!/usr/bin/env bash
# `make run`: set up, create .env on first run, start the embedded database unless MONGODB_URI
# is set, and serve the app in production mode on APP_PORT (default 3000).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

if [ ! -f .env ]; then
  secret=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))")
  sed "s|^JWT_SECRET=.*|JWT_SECRET=$secret|" .env.example > .env
  echo "run: created .env with a fresh JWT_SECRET (edit it to configure the app)"
fi

# The environment wins over .env, as in the app's own settings.
eval "$(.venv/bin/python - APP_PORT MONGODB_URI DB_PORT <<'PY'
import os, shlex, sys
from dotenv import dotenv_values
values = dotenv_values(".env")
for key in sys.argv[1:]:
    print(f"{key}={shlex.quote(os.environ.get(key) or values.get(key) or '')}")
PY
)"
APP_PORT=${APP_PORT:-3000}
export DB_PORT
if [ -z "${MONGODB_URI:-}" ]; then
  scripts/db.sh start
  export MONGODB_URI="mongodb://127.0.0.1:${DB_PORT:-27017}"
fi

export REFLEX_USE_SYSTEM_BUN=1 APP_PORT
echo "run: serving http://localhost:$APP_PORT"
exec .venv/bin/reflex run --env prod --single-port \
  --frontend-port "$APP_PORT" --backend-port "$APP_PORT" --loglevel "${LOG_LEVEL:-warning}"

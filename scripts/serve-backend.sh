#!/usr/bin/env sh
# The container's server: the Reflex backend on APP_PORT, also serving the frontend exported at
# build time (REFLEX_MOUNT_FRONTEND_COMPILED_APP), so no Node or bun is needed at run time.
set -eu
# Reflex marks these internal with a "__" prefix.
export REFLEX_ENV_MODE=prod __REFLEX_MOUNT_FRONTEND_COMPILED_APP=true
exec granian --interface asgi --factory --host 0.0.0.0 --port "${APP_PORT:-3000}" \
  --workers 1 --log-level "${LOG_LEVEL:-warning}" chatapp.chatapp:app

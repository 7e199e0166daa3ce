#!/usr/bin/env sh
# The production server (the container's command, and `make backend`): the Reflex backend on
# APP_PORT. SERVE_FRONTEND=true (the image's default) also serves the frontend exported at build
# time, so no Node or bun is needed at run time; SERVE_FRONTEND=false serves the backend alone,
# for a frontend on a static host or CDN.
set -eu
# Reflex marks the mount switch internal with a "__" prefix.
export REFLEX_ENV_MODE=prod __REFLEX_MOUNT_FRONTEND_COMPILED_APP="${SERVE_FRONTEND:-true}"
exec granian --interface asgi --factory --host 0.0.0.0 --port "${APP_PORT:-3000}" \
  --workers 1 --log-level "${LOG_LEVEL:-warning}" chatapp.chatapp:app

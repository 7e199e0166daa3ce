#!/usr/bin/env sh
# The production server (the container's command, and `make backend`): the Reflex backend on
# APP_PORT. SERVE_FRONTEND=true (the image's default) also serves the frontend exported at build
# time, so no Node or bun is needed at run time; SERVE_FRONTEND=false serves the backend alone,
# for a frontend on a static host or CDN. WORKERS > 1 needs REDIS_URL: the workers share tab
# state, limits, caches and live answers through Redis.
set -eu
# Reflex marks its internal switches with a "__" prefix. The frontend was built beforehand (the
# image's build, `make export`), so workers skip compiling pages, as `reflex run --env prod` does:
# several workers compiling into one .web at once would trip over each other.
export REFLEX_ENV_MODE=prod __REFLEX_MOUNT_FRONTEND_COMPILED_APP="${SERVE_FRONTEND:-true}" \
  __REFLEX_SKIP_COMPILE=true
workers="${WORKERS:-1}"
case "$workers" in
  ''|*[!0-9]*|0) echo "WORKERS must be a whole number of at least 1, got '$workers'" >&2; exit 2 ;;
esac
if [ "$workers" -gt 1 ] && [ -z "${REDIS_URL:-}" ]; then
  echo "WORKERS=$workers asked for, but REDIS_URL is not set: running 1 worker." >&2
  echo "Several workers share sessions, limits and answers through Redis; set REDIS_URL to use them." >&2
  workers=1
fi
exec granian --interface asgi --factory --host 0.0.0.0 --port "${APP_PORT:-3000}" \
  --workers "$workers" --log-level "${LOG_LEVEL:-warning}" chatapp.chatapp:app

#!/usr/bin/env bash
# `make export`: the static frontend with API_URL (the backend's public URL) baked in, unpacked in
# $EXPORT_DIR/frontend (default dist/frontend), plus the app's routes in $EXPORT_DIR/routes.json
# for the static host's deep-link rules. It builds in its own Reflex work directory
# ($EXPORT_DIR/web), so a running `make run` keeps its build.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${API_URL:?set API_URL to the public URL of the backend, e.g. make export API_URL=https://api.example.com}"

scripts/setup.sh
DIST=${EXPORT_DIR:-dist}
export REFLEX_USE_SYSTEM_BUN=1 REFLEX_WEB_WORKDIR="$DIST/web"
# The build only imports the app; the backend has the real secret.
APP_ENV=development JWT_SECRET=build-only-build-only-build-only-build-only \
  .venv/bin/reflex export --frontend-only --no-zip --loglevel "${LOG_LEVEL:-warning}"

rm -rf "$DIST/frontend"
cp -R "$DIST/web/build/client" "$DIST/frontend"
cp "$DIST/web/routes.json" "$DIST/routes.json"
echo "export: $DIST/frontend, talking to $API_URL"

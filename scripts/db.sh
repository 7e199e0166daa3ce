#!/usr/bin/env bash
# The embedded MongoDB-compatible server (nx-27017), used when MONGODB_URI is not set.
# Usage: scripts/db.sh start|stop|status   (data kept in ./data/, surviving restarts)
set -euo pipefail
cd "$(dirname "$0")/.."

DB_PORT=${DB_PORT:-27017}
mkdir -p data
DATA="$(pwd)/data"
PID="$DATA/nx-27017.pid"

running() { [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; }

case "${1:-start}" in
  start)
    if running; then exit 0; fi
    .venv/bin/nx-27017 --db "$DATA/helpdesk.db" --host 127.0.0.1 -p "$DB_PORT" \
      --pid-file "$PID" --log-file "$DATA/nx-27017.log" -d
    for _ in $(seq 50); do
      if .venv/bin/python -c "import socket,sys; socket.create_connection(('127.0.0.1', $DB_PORT), 0.2)" 2>/dev/null; then
        echo "db: embedded database on 127.0.0.1:$DB_PORT (data/helpdesk.db)"; exit 0
      fi
      sleep 0.2
    done
    echo "db: the embedded database did not start; see data/nx-27017.log" >&2; exit 1 ;;
  stop)
    if running; then kill "$(cat "$PID")"; rm -f "$PID"; echo "db: stopped"; fi ;;
  status)
    if running; then echo "db: running (pid $(cat "$PID"))"; else echo "db: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

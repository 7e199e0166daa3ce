#!/usr/bin/env bash
# The embedded MongoDB-compatible server (nx-27017), used when MONGODB_URI is not set.
# Usage: scripts/db.sh start|stop|status   (data kept in ./data/, surviving restarts)
# It only ever uses a server that is provably this checkout's own (its pid and data file): when
# DB_PORT (default 27017) is held by another server, it picks a free port and says so. The port
# in use is written to data/nx-27017.port, where scripts/prepare.sh reads it.
set -euo pipefail
cd "$(dirname "$0")/.."

WANTED=${DB_PORT:-27017}
mkdir -p data
DATA="$(pwd)/data"
DB="$DATA/helpdesk.db"
PID="$DATA/nx-27017.pid"
PORT_FILE="$DATA/nx-27017.port"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
owner() { if listening "$1"; then .venv/bin/python scripts/db_owner.py "$1" "$DB"; else echo free; fi; }
ours() { [ -f "$PORT_FILE" ] && case "$(owner "$(cat "$PORT_FILE")")" in ours*) true ;; *) false ;; esac; }

case "${1:-start}" in
  start)
    if ours; then echo "db: embedded database on 127.0.0.1:$(cat "$PORT_FILE") (data/helpdesk.db)"; exit 0; fi
    port=$WANTED
    held=$(owner "$port")
    if [ "$held" != free ]; then
      port=""
      for candidate in $(seq $((WANTED + 1)) $((WANTED + 100))); do
        if ! listening "$candidate"; then port=$candidate; break; fi
      done
      if [ -z "$port" ]; then
        echo "db: 127.0.0.1:$WANTED is held by another server ($held) and no port above it is free; set DB_PORT to a free port" >&2
        exit 1
      fi
      echo "db: 127.0.0.1:$WANTED is held by another server ($held), not this checkout's; using 127.0.0.1:$port instead (set DB_PORT to choose)"
    fi
    .venv/bin/nx-27017 --db "$DB" --host 127.0.0.1 -p "$port" \
      --pid-file "$PID" --log-file "$DATA/nx-27017.log" -d
    for _ in $(seq 50); do
      case "$(owner "$port")" in
        ours*) echo "$port" > "$PORT_FILE"
               echo "db: embedded database on 127.0.0.1:$port (data/helpdesk.db)"; exit 0 ;;
        other*|foreign) echo "db: 127.0.0.1:$port was taken by another server while starting; set DB_PORT to a free port" >&2
               exit 1 ;;
      esac
      sleep 0.2
    done
    echo "db: the embedded database did not start; see data/nx-27017.log" >&2; exit 1 ;;
  stop)
    if ours; then kill "$(cat "$PID")"; rm -f "$PID" "$PORT_FILE"; echo "db: stopped"; fi ;;
  status)
    if ours; then echo "db: running on 127.0.0.1:$(cat "$PORT_FILE") (pid $(cat "$PID"))"; else echo "db: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

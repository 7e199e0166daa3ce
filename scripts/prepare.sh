# Sourced by run.sh and backend.sh: set up, create .env on first run, read the given keys
# (the environment wins over .env, as in the app's settings), and start the embedded database
# unless MONGODB_URI is set (on the port scripts/db.sh chose). Usage: . scripts/prepare.sh KEY...
scripts/setup.sh

if [ ! -f .env ]; then
  secret=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))")
  (umask 077 && sed "s|^JWT_SECRET=.*|JWT_SECRET=$secret|" .env.example > .env)
  echo "env: created .env with a fresh JWT_SECRET (edit it to configure the app)"
fi
chmod 600 .env  # it holds JWT_SECRET: readable by its owner only

eval "$(.venv/bin/python - MONGODB_URI DB_PORT "$@" <<'PY'
import os, shlex, sys
from dotenv import dotenv_values
values = dotenv_values(".env")
for key in sys.argv[1:]:
    print(f"{key}={shlex.quote(os.environ.get(key) or values.get(key) or '')}")
PY
)"
export DB_PORT
if [ -z "${MONGODB_URI:-}" ]; then
  scripts/db.sh start
  export MONGODB_URI="mongodb://127.0.0.1:$(cat data/nx-27017.port)"
fi

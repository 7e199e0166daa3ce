# The front door: `make run` serves the app, `make test` runs every test. Both set themselves up.
# Deploying with a static frontend: `make export API_URL=...`, `make backend`, `make serve-export`.
.PHONY: run dev test setup setup-test db-start db-stop lint clean export backend serve-export admin demo-data

BACKEND_PORT ?= 8000
EXPORT_PORT ?= 3001
EXPORT_DIR ?= dist

run:
	scripts/run.sh

# Development mode: hot reload of Python and pages, the fake model (FAKE_LLM=1) unless set otherwise.
dev:
	scripts/dev.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh

# The first admin: `make admin EMAIL=you@example.com` prints a one-time link to set the password;
# `make admin EMAIL=... PASSWORD=...` sets it directly (for scripts and tests).
admin:
	@EMAIL="$(EMAIL)" PASSWORD="$(PASSWORD)" scripts/admin.sh

# A realistic month of demo conversations (answers, declines, handoffs, feedback) on the same
# database, so /inbox/insights has something to show; refuses if it has demo data already,
# `make demo-data RESET=1` replaces it (and only it).
demo-data:
	@RESET="$(RESET)" bash -c 'set -euo pipefail; . scripts/prepare.sh; exec .venv/bin/python scripts/demo_data.py $${RESET:+--reset}'

setup-test:
	scripts/setup.sh --dev

db-start:
	scripts/db.sh start

db-stop:
	scripts/db.sh stop

lint: setup-test
	.venv/bin/ruff check .
	.venv/bin/hadolint Dockerfile

# The static frontend for a backend at API_URL, unpacked in $(EXPORT_DIR)/frontend/.
export:
	API_URL="$(API_URL)" EXPORT_DIR="$(EXPORT_DIR)" scripts/export.sh

# The backend alone, in production mode, on BACKEND_PORT; WORKERS=N with REDIS_URL=redis://...
# runs N workers sharing state through Redis.
backend:
	BACKEND_PORT=$(BACKEND_PORT) EXPORT_PORT=$(EXPORT_PORT) WORKERS="$(WORKERS)" REDIS_URL="$(REDIS_URL)" scripts/backend.sh

# $(EXPORT_DIR)/frontend/ on EXPORT_PORT, with the deep-link rules of a production static host.
serve-export:
	@test -f "$(EXPORT_DIR)/routes.json" || { echo "serve-export: run 'make export API_URL=...' first" >&2; exit 1; }
	.venv/bin/python scripts/serve_export.py "$(EXPORT_DIR)" --port $(EXPORT_PORT)

clean:
	rm -rf .web .states dist

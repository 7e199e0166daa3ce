# The front door: `make run` serves the app, `make test` runs every test. Both set themselves up.
.PHONY: run test setup setup-test db-start db-stop lint clean

run:
	scripts/run.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --dev

db-start:
	scripts/db.sh start

db-stop:
	scripts/db.sh stop

lint: setup-test
	.venv/bin/ruff check .
	.venv/bin/hadolint Dockerfile

clean:
	rm -rf .web .states dist

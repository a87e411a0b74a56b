# Quick start: `make run` (demo on the embedded default), `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run call test test-unit test-e2e lint format migrate seed messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12+ is needed (Django 6.1); set PYTHON=python3.12")'
	@echo "Making the virtualenv in $(VENV)/ ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --progress-bar on pip

$(VENV)/.installed: $(BIN)/python requirements-dev.lock
	@echo "Installing the locked dependencies (a few minutes the first time; pip shows each one) ..."
	$(BIN)/pip install --progress-bar on -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

# The demo's secret key, made once per checkout into .secret_key (never committed): with DEBUG off
# the server, migrate and the suite refuse the default key (core/checks.py). Production sets SECRET_KEY.
.secret_key:
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

migrate seed run test-unit test-e2e: .secret_key
migrate seed run test-unit test-e2e: export SECRET_KEY ?= $(shell cat .secret_key 2>/dev/null)

# The demo's Twilio auth token, made once like the secret key: the server refuses unsigned voice
# webhooks, and `make call` signs with the same token (no Twilio account: nothing leaves the machine).
.twilio_demo_token:
	@$(PYTHON) -c 'import secrets; print(secrets.token_hex(16))' > $@

run call: .twilio_demo_token
run call: export TWILIO_AUTH_TOKEN ?= $(shell cat .twilio_demo_token 2>/dev/null)
FROM ?= +8613800000000

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo
	@echo "Open http://$(HOST):$(PORT)/ and log in as one of the users above (operator1: the console)."
	@echo "Another host or port: make run HOST=0.0.0.0 PORT=8080"
	@echo "Make a call arrive (no Twilio account needed), in a second terminal:"
	@echo "  make call HOST=$(HOST) PORT=$(PORT) FROM=+8613800000000"
	@echo
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# A call from FROM rings on the running demo's console: Twilio's voice webhook, signed and posted.
call: install
	$(BIN)/python manage.py simulate_call --from $(FROM) --server http://$(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The suite runs on whatever the environment selects: the embedded default (SQLite, in-memory
# channel layer) or PostgreSQL/Redis from DATABASE_URL/REDIS_URL. Tests marked postgres or redis
# need that service, so without it they are deselected (pytest's summary counts them), not
# skipped; with it they run, and fail when it is unreachable and REQUIRE_SERVICES=1 (CI).
SERVICES_MARK := $(if $(filter postgres%,$(DATABASE_URL)),, and not postgres)$(if $(REDIS_URL),, and not redis)

# Unit tests run in parallel workers, a test file to a worker (its servers and databases stay
# its own); most of their time is spent waiting on real servers, not on the two cores.
PYTEST_WORKERS ?= 4

# Browser tests run in their own pytest process: Playwright's sync API and pytest-asyncio's
# event loop do not mix in one process.
test-unit: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -m "not e2e$(SERVICES_MARK)" -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-e2e: install
	$(BIN)/pytest -m "e2e$(SERVICES_MARK)" -p no:asyncio -W ignore::pytest.PytestConfigWarning $(PYTEST_ARGS)

test: lint test-unit test-e2e

# Needs GNU gettext (msgfmt); the compiled .mo files are committed so a fresh machine needs none.
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=staticfiles
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles db.sqlite3

# CycleDesk: `make run` serves the whole product on embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install install-dev migrate seed clean assets chromium

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# Browser assets (htmx, Chart.js) from npm, served by Django staticfiles from node_modules/.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel error

assets: node_modules/.package-lock.json

# The browser tests drive Debian's chromium; install it when missing and we are root.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "chromium could not be installed: the browser tests will be skipped"; \
	fi

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# A random secret key for this checkout, made once (production takes DJANGO_SECRET_KEY from the environment).
var/secret_key:
	@mkdir -p var
	@umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@.tmp && mv -n $@.tmp $@ && rm -f $@.tmp

migrate: install var/secret_key
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Web (gunicorn), a Celery worker and beat, on SQLite and the filesystem broker.
# Ctrl-C stops all three.
# Links in messages point at the address served here unless SITE_URL says otherwise.
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: seed assets
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "CycleDesk on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) -m celery -A clinic worker --loglevel INFO --concurrency 2 --hostname worker@%h & \
	$(PY) -m celery -A clinic beat --loglevel INFO & \
	$(VENV)/bin/gunicorn clinic.wsgi --bind $(HOST):$(PORT) --workers 2 --access-logfile - \
		--logger-class clinic.access_log.GunicornLogger & \
	wait

test: install-dev assets chromium
	bash tests/run.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var staticfiles .pytest_cache

# CycleDesk: `make run` serves the whole product on embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install install-dev migrate seed clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Web (gunicorn), a Celery worker and beat, on SQLite and the filesystem broker.
# Ctrl-C stops all three.
run: seed
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "CycleDesk on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) -m celery -A clinic worker --loglevel INFO --concurrency 2 --hostname worker@%h & \
	$(PY) -m celery -A clinic beat --loglevel INFO & \
	$(VENV)/bin/gunicorn clinic.wsgi --bind $(HOST):$(PORT) --workers 2 --access-logfile - & \
	wait

test: install-dev
	bash tests/run.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var staticfiles .pytest_cache

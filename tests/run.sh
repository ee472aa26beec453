#!/usr/bin/env bash
# What `make test` runs once the environment is installed: lint, then the suite.
# The database and broker come from DATABASE_URL / CELERY_BROKER_URL (SQLite and
# the filesystem broker when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
# The layers of DESIGN.md §3 (pyproject.toml [tool.importlinter]): a lower app never imports a higher one.
"$VENV/bin/lint-imports" --no-cache
# Models against migrations needs no database: check on the SQLite default, so a
# PostgreSQL database that pytest has not created yet is not probed.
env -u DATABASE_URL "$VENV/bin/python" manage.py makemigrations --check --dry-run >/dev/null
exec "$VENV/bin/pytest" "$@"

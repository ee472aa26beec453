"""Settings come from the environment only, and a value that cannot be used stops the process at start-up."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOAD = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"


def run(code_or_args, tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CYCLEDESK_", "DATABASE_", "CELERY_"))}
    base.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_DIR=str(tmp_path / "broker"),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    base.update(env)
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else [sys.executable, *code_or_args]
    return subprocess.run(args, cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


def test_the_embedded_defaults_need_nothing_set(tmp_path):
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG, s.EMAIL_BACKEND)",
        ],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine, broker, debug, email = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert debug == "False"
    assert email.endswith("console.EmailBackend")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DATABASE_URL", "nonsense://x"),
        ("DATABASE_URL", "mysql://u@localhost/db"),
        ("DEFAULT_PHONE_REGION", "XX"),
        ("DEFAULT_CLINIC_TIME_ZONE", "Mars/Olympus"),
        ("CELERY_BROKER_URL", "amqp://guest@localhost//"),
        ("EMAIL_BACKEND", "carrier-pigeon"),
        ("SMS_BACKEND", "twilio"),
        ("AXES_FAILURE_LIMIT", "five"),
        ("SESSION_IDLE_SECONDS", "30m"),
        ("CYCLEDESK_PRODUCTION", "yes-please"),
        ("SLOT_OFFERS_ENABLED", "sometimes"),
    ],
)
def test_a_bad_value_stops_the_process_with_improperly_configured(tmp_path, name, value):
    result = run(LOAD, tmp_path, **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = run(LOAD, tmp_path, CYCLEDESK_PRODUCTION="1")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_postgres_and_redis_urls_are_read_from_the_environment(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "d = s.DATABASES['default']; print(d['ENGINE'], d['HOST'], d['NAME'], s.CELERY_BROKER_URL)"
    )
    result = run(
        code,
        tmp_path,
        DATABASE_URL="postgres://u:p@db.internal:5432/cycledesk",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.internal",
        "cycledesk",
        "redis://cache.internal:6379/0",
    ]


def test_check_deploy_raises_no_security_warning_under_production_settings(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        CYCLEDESK_PRODUCTION="1",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="clinic.example",
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "security.W" not in output
    assert "security.E" not in output
    assert "ERRORS:" not in output
    assert "no issues" in output


def test_check_deploy_does_warn_without_production_settings(tmp_path):
    # The control for the test above: the same check on development settings does find problems.
    result = run(["manage.py", "check", "--deploy"], tmp_path)
    assert "security.W" in result.stdout + result.stderr


@pytest.mark.parametrize(("value", "enabled"), [(None, "True"), ("0", "False"), ("off", "False"), ("1", "True")])
def test_slot_offers_are_on_unless_the_clinic_turns_them_off(tmp_path, value, enabled):
    code = "import django; django.setup(); from django.conf import settings; print(settings.SLOT_OFFERS_ENABLED)"
    result = run(code, tmp_path, **({} if value is None else {"SLOT_OFFERS_ENABLED": value}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == enabled

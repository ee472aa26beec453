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
    prefixes = ("DJANGO_", "CYCLEDESK_", "DATABASE_", "CELERY_", "REDIS_", "MFA_", "API_TOKEN_", "SECRET_KEY")
    base = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
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


def test_production_without_a_secret_key_says_why_and_how_to_make_one(tmp_path):
    result = run(LOAD, tmp_path, CYCLEDESK_PRODUCTION="1", DJANGO_ALLOWED_HOSTS="clinic.example")
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is not set")
    assert "refuses to start" in message
    assert "secrets.token_urlsafe" in message


def test_no_secret_key_is_committed_a_development_checkout_uses_the_random_one_in_var(tmp_path):
    key_file = ROOT / "var" / "secret_key"
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    first, second = run(code, tmp_path), run(code, tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key == second.stdout.strip() == key_file.read_text().strip()  # made once, then reused
    assert len(key) >= 50
    assert key not in (ROOT / "clinic" / "settings.py").read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_the_secret_key_from_the_environment_wins(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    given = secrets.token_urlsafe(50)
    result = run(code, tmp_path, DJANGO_SECRET_KEY=given)
    assert result.stdout.strip() == given


def test_make_run_writes_the_random_key_to_var_once(tmp_path):
    workdir = tmp_path / "checkout"
    (workdir / "var").mkdir(parents=True)
    makefile = (ROOT / "Makefile").read_text()
    (workdir / "Makefile").write_text(makefile)
    make = ["make", "-s", "-f", "Makefile", "var/secret_key", f"PY={sys.executable}"]
    subprocess.run(make, cwd=workdir, check=True, timeout=60)
    key = (workdir / "var" / "secret_key").read_text().strip()
    subprocess.run(make, cwd=workdir, check=True, timeout=60)
    assert (workdir / "var" / "secret_key").read_text().strip() == key
    assert len(key) >= 50


@pytest.mark.parametrize(("production", "expected"), [("0", []), ("1", ["clinician", "clinic_admin"])])
def test_mfa_is_required_of_clinicians_and_clinic_admins_in_production_only(tmp_path, production, expected):
    code = "import django; django.setup(); from django.conf import settings; print(settings.MFA_REQUIRED_ROLES)"
    env = {"CYCLEDESK_PRODUCTION": production, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    result = run(code, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(expected)


def test_an_unknown_role_in_mfa_required_roles_stops_the_process(tmp_path):
    result = run(LOAD, tmp_path, MFA_REQUIRED_ROLES="clinician,surgeon")
    assert result.returncode != 0
    assert "MFA_REQUIRED_ROLES" in result.stderr


def test_api_tokens_live_12_hours_unless_configured(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.API_TOKEN_TTL_HOURS)"
    assert run(code, tmp_path).stdout.strip() == "12"
    assert run(code, tmp_path, API_TOKEN_TTL_HOURS="2").stdout.strip() == "2"
    assert run(code, tmp_path, API_TOKEN_TTL_HOURS="0").returncode != 0


def test_the_shared_cache_is_a_database_table_by_default_and_redis_when_given(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    )
    assert run(code, tmp_path).stdout.strip() == "django.core.cache.backends.db.DatabaseCache"
    redis = run(code, tmp_path, REDIS_URL="redis://127.0.0.1:6379/4").stdout.strip()
    assert redis == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.parametrize(("value", "enabled"), [(None, "True"), ("0", "False"), ("off", "False"), ("1", "True")])
def test_slot_offers_are_on_unless_the_clinic_turns_them_off(tmp_path, value, enabled):
    code = "import django; django.setup(); from django.conf import settings; print(settings.SLOT_OFFERS_ENABLED)"
    result = run(code, tmp_path, **({} if value is None else {"SLOT_OFFERS_ENABLED": value}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == enabled


@pytest.mark.parametrize(
    ("production", "override", "expected"),
    [("0", None, "0"), ("1", None, "600"), ("1", "0", "0"), ("1", "60", "60"), ("0", "30", "30")],
)
def test_production_keeps_database_connections_open_and_checks_them(tmp_path, production, override, expected):
    # Issue 16: a new PostgreSQL connection per request was most of a booking's time.
    code = (
        "import django; django.setup(); from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], 'pool' in d.get('OPTIONS', {}))"
    )
    env = {
        "CYCLEDESK_PRODUCTION": production,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://u:p@db.internal:5432/cycledesk",
    }
    if override is not None:
        env["DB_CONN_MAX_AGE"] = override
    result = run(code, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected, "True", "False"]


def test_a_bad_db_conn_max_age_stops_the_process(tmp_path):
    result = run(LOAD, tmp_path, DB_CONN_MAX_AGE="forever")
    assert result.returncode != 0
    assert "DB_CONN_MAX_AGE" in result.stderr


def test_a_web_worker_freezes_what_setting_up_django_made(tmp_path):
    # clinic/wsgi.py: full collections then skip the set-up's objects (a slot search's p95, issue 16).
    result = run("import gc, clinic.wsgi; print(gc.get_freeze_count())", tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 10_000


def test_a_worker_process_freezes_what_setting_up_made(tmp_path):
    # clinic/celery.py, on worker_init and worker_process_init (and run_jobs): the sweeps' full collections
    # then skip the set-up's objects (issue 16).
    code = "import gc, django; django.setup(); from clinic.celery import worker_ready; worker_ready()"
    result = run(f"{code}; print(gc.get_freeze_count())", tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 10_000

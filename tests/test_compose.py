"""docker-compose.yml agrees with the code: every command it runs exists, every variable it sets is read."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS_SOURCE = (ROOT / "clinic" / "settings.py").read_text()
APP_SERVICES = [
    name for name, service in SERVICES.items() if "build" in service or service.get("image", "").startswith("cycledesk")
]


def _dockerfile_cmd() -> list[str]:
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return yaml.safe_load(line.removeprefix("CMD "))


def _commands() -> list[tuple[str, list[str]]]:
    found = [
        (name, service["command"])
        for name, service in SERVICES.items()
        if name in APP_SERVICES and "command" in service
    ]
    found += [
        (f"{name} healthcheck", service["healthcheck"]["test"][1:])
        for name, service in SERVICES.items()
        if name in APP_SERVICES and "healthcheck" in service
    ]
    found.append(("Dockerfile CMD", _dockerfile_cmd()))
    return [(name, cmd.split() if isinstance(cmd, str) else list(cmd)) for name, cmd in found]


def test_the_stack_has_web_worker_beat_postgres_redis_and_mailpit():
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit"} <= set(SERVICES)
    assert {"web", "worker", "beat"} <= set(APP_SERVICES)


def test_web_runs_gunicorn_worker_and_beat_run_celery():
    commands = dict(_commands())
    assert commands["web"][0] == "gunicorn"
    assert commands["worker"][:4] == ["celery", "-A", "clinic", "worker"]
    assert commands["beat"][:4] == ["celery", "-A", "clinic", "beat"]


def _check_gunicorn(args: list[str]) -> None:
    from gunicorn.config import Config

    parsed = Config().parser().parse_args(args)  # unknown options exit the parser
    (target,) = parsed.args
    module, _, attribute = target.partition(":")
    application = getattr(importlib.import_module(module), attribute or "application")
    assert callable(application)


def _check_celery(args: list[str]) -> None:
    from celery import Celery
    from celery.bin.celery import celery

    assert args[0] == "-A"
    app_module = importlib.import_module(f"{args[1]}.celery")
    assert isinstance(app_module.app, Celery)
    subcommand = celery.commands[args[2]]
    options = {opt for param in subcommand.params for opt in param.opts}
    for token in args[3:]:
        if token.startswith("-"):
            assert token.split("=")[0] in options, f"celery {args[2]} has no option {token}"


def _check_manage(args: list[str]) -> None:
    from django.core.management import get_commands, load_command_class

    name, rest = args[0], args[1:]
    commands = get_commands()
    assert name in commands, f"manage.py has no command {name}"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(rest)  # raises CommandError on an unknown option


def _check_python_c(code: str) -> None:
    from django.urls import resolve

    for url in re.findall(r"https?://[^'\"]+", code):
        resolve(urlsplit(url).path)


@pytest.mark.parametrize(("where", "command"), _commands(), ids=[name for name, _ in _commands()])
def test_every_command_the_stack_runs_exists_in_the_code(where, command):
    program, args = command[0], command[1:]
    if program == "gunicorn":
        _check_gunicorn(args)
    elif program == "celery":
        _check_celery(args)
    elif program == "python" and args[0] == "manage.py":
        _check_manage(args[1:])
    elif program == "python" and args[0] == "-c":
        _check_python_c(args[1])
    else:
        pytest.fail(f"{where}: no check for {command}")


def _app_environment() -> dict[str, str]:
    env = {}
    for name in APP_SERVICES:
        env.update({k: str(v) for k, v in (SERVICES[name].get("environment") or {}).items()})
    return env


def test_every_variable_the_stack_sets_is_read_by_the_settings():
    for name in _app_environment():
        assert re.search(rf"[\"']{name}[\"']", SETTINGS_SOURCE), f"{name} is set in compose but never read"


def test_urls_point_at_the_services_of_the_stack():
    env = _app_environment()
    database = urlsplit(env["DATABASE_URL"])
    assert database.scheme.startswith("postgres")
    assert database.hostname == "postgres"
    postgres = SERVICES["postgres"]["environment"]
    assert (database.username, database.password, database.path.lstrip("/")) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        assert urlsplit(env[name]).hostname == "redis"
    assert env["EMAIL_BACKEND"] == "smtp"
    assert env["EMAIL_HOST"] == "mailpit"
    assert env["EMAIL_PORT"] == "1025"  # mailpit's SMTP port


def test_the_stack_commits_no_secret_key_it_takes_it_from_the_environment():
    # `${VAR:?message}`: compose refuses to start while the environment does not set it.
    assert re.fullmatch(r"\$\{DJANGO_SECRET_KEY:\?[^}]+\}", _app_environment()["DJANGO_SECRET_KEY"])
    assert _app_environment()["CYCLEDESK_PRODUCTION"] == "1"


def _from_environment(value: str) -> str:
    """A compose value as the settings would get it: `${X:-default}` → default, `${X:?...}` → a value given."""
    value = re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", value)
    return re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: f"{m.group(1).lower()}-given-{'x' * 40}", value)


def test_the_settings_load_with_the_stacks_environment():
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    stack = {k: _from_environment(v) for k, v in _app_environment().items()}
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['HOST'], s.CELERY_BROKER_URL, s.EMAIL_HOST)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **env,
            **stack,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "STATIC_ROOT": "/tmp/cycledesk-compose-static",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["postgres", "redis://redis:6379/0", "mailpit"]


def _gunicorn_options(command: list[str]):
    from gunicorn.config import Config

    config = Config()
    parsed = config.parser().parse_args(command[1:])
    for name, value in vars(parsed).items():
        if value is not None and name in config.settings:
            config.set(name, value)
    return config


def test_the_web_command_states_its_worker_model_and_the_image_runs_the_same():
    # Issue 16: the worker model is chosen by measurement and written down, not left to gunicorn's default.
    web = dict(_commands())["web"]
    assert "--worker-class" in web and "--workers" in web
    config = _gunicorn_options(web)
    assert config.worker_class_str in ("sync", "gthread")
    assert config.workers >= 2
    if config.worker_class_str == "gthread":
        assert config.threads >= 2
    assert _dockerfile_cmd() == web  # `docker run` without compose serves the same way


def test_the_booking_bench_serves_with_the_web_commands_options():
    from bench.booking import gunicorn_argv

    web = dict(_commands())["web"]
    served = gunicorn_argv(8123, None)[1:]
    bind = web.index("--bind")
    assert served == [*web[1 : bind + 1], "127.0.0.1:8123", *web[bind + 2 :]]


def test_the_stack_keeps_database_connections_open():
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    stack = {k: _from_environment(v) for k, v in _app_environment().items()}
    assert int(stack["DB_CONN_MAX_AGE"]) > 0
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "d = s.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **env,
            **stack,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "STATIC_ROOT": "/tmp/cycledesk-compose-static",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [stack["DB_CONN_MAX_AGE"], "True"]

"""What a new engineer meets on a fresh clone: README's two commands, pinned requirements, and `make run` working."""

import ast
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCAL_PACKAGES = {"clinic", "patients", "scheduling", "cycles", "notifications", "tests", "bench", "manage"}


def _tracked_files() -> list[str]:
    result = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip("not a git checkout")
    return result.stdout.split()


def test_the_readme_opens_with_make_run_and_make_test():
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:8])
    assert "make run" in head
    assert "make test" in head


def test_nothing_generated_or_local_is_committed():
    generated = [
        path
        for path in _tracked_files()
        if path.startswith(("var/", ".venv/", "staticfiles/"))
        or "__pycache__" in path
        or path.endswith((".sqlite3", ".pyc"))
    ]
    assert generated == []


def test_ci_runs_the_suite_on_postgresql_and_on_sqlite():
    script = (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert re.search(r'DATABASE_URL="postgres://[^"]+"', script)
    assert "env -u DATABASE_URL" in script
    assert script.count("make test") >= 2


def _requirement_names(path: Path) -> list[tuple[str, set[str]]]:
    """(name, extras) of each pinned requirement, following `-r` includes."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found += _requirement_names(path.parent / line[3:].strip())
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[([^\]]+)\])?\s*==", line)
        assert match, f"{path.name}: {line!r} is not pinned with =="
        found.append((match.group(1), {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}))
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements: list[tuple[str, set[str]]]) -> set[str]:
    """Every distribution installed because of these requirements (their dependencies, with requested extras)."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        name, extras = todo.pop()
        key = _normalise(name)
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            dep, _, marker = spec.partition(";")
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if extra and extra.group(1) not in extras:
                continue
            dep_name = re.match(r"\s*([A-Za-z0-9_.\-]+)(?:\[([^\]]+)\])?", dep)
            todo.append((dep_name.group(1), set((dep_name.group(2) or "").split(",")) - {""}))
    return seen


def _third_party_imports(paths: list[str]) -> dict[str, str]:
    """{top-level module: first file importing it} for modules that are neither stdlib nor ours."""
    found: dict[str, str] = {}
    for path in paths:
        tree = ast.parse((ROOT / path).read_text(), filename=path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in LOCAL_PACKAGES:
                    found.setdefault(top, path)
    return found


@pytest.mark.parametrize(
    ("requirements", "prefix"),
    [
        ("requirements.txt", ("clinic/", "patients/", "scheduling/", "cycles/", "notifications/")),
        ("requirements-dev.txt", ("",)),
    ],
)
def test_every_third_party_import_is_pinned_in_the_requirements(requirements, prefix):
    files = [p for p in _tracked_files() if p.endswith(".py") and p.startswith(prefix) and "/migrations/" not in p]
    provided = _closure(_requirement_names(ROOT / requirements))
    distributions = metadata.packages_distributions()
    missing = {}
    for module, where in _third_party_imports(files).items():
        owners = {_normalise(d) for d in distributions.get(module, [])}
        if not owners & provided:
            missing[module] = where
    assert missing == {}, f"imported but not pinned in {requirements}: {missing}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, data: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(data).encode() if data is not None else None,
        headers={"Content-Type": "application/json"} if data is not None else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@pytest.mark.slow
def test_make_run_serves_the_api_and_docs_and_the_printed_demo_logins_get_tokens(tmp_path):
    port = _free_port()
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'cycledesk.sqlite3'}",
        CELERY_BROKER_DIR=str(tmp_path / "broker"),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        # -o: the venv is the one running these tests; do not reinstall it.
        process = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "run", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                status, body = _get(f"{base}/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        assert json.loads(body)["database"] == "ok"

        status, docs = _get(f"{base}/api/docs/")
        assert status == 200
        assert "swagger-ui" in docs
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', docs)
        assert assets
        for asset in assets:
            assert _get(base + asset)[0] == 200, asset
        assert _get(f"{base}/api/schema/")[0] == 200

        printed = log.read_text()
        password = re.search(r"password for all: (\S+?)\)", printed).group(1)
        logins = re.findall(r"^\s+(\w+)\s+(?:front_desk|clinician|clinic_admin)$", printed, re.MULTILINE)
        assert "drlee" in logins
        for username in logins:
            status, body = _get(f"{base}/api/v1/auth/token/", {"username": username, "password": password})
            assert status == 200, (username, body)
            assert json.loads(body)["token"]

        # A real worker and beat on the filesystem broker: beat starts, and a job sent by another
        # process (as the web does after a commit) is run by the worker.
        assert _wait_for_log(log, lambda text: " ready." in text and "beat: Starting" in text), log.read_text()[-3000:]
        send = (
            "from clinic.celery import app; app.loader.import_default_modules(); "
            "app.tasks['scheduling.plan_next_sessions'].delay()"
        )
        subprocess.run([sys.executable, "manage.py", "shell", "-c", send], cwd=ROOT, env=env, check=True, timeout=60)
        succeeded = re.compile(r"Task scheduling\.plan_next_sessions\[[0-9a-f-]+\] succeeded")
        assert _wait_for_log(log, succeeded.search), log.read_text()[-3000:]
    finally:
        _stop_group(process)


def _wait_for_log(log: Path, found, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found(log.read_text(errors="replace")):
            return True
        time.sleep(0.5)
    return bool(found(log.read_text(errors="replace")))


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole process group (make, gunicorn, the worker and beat), then SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if process.poll() is None:
                time.sleep(0.2)
                continue
            try:
                os.killpg(process.pid, 0)  # anyone left in the group?
            except ProcessLookupError:
                return
            time.sleep(0.2)

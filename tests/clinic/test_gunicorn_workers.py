"""Real gunicorn, two workers: the login throttle counts once for both, and the access log keeps no PHI.

The throttle (AUTH_TOKEN_THROTTLE, 10 a minute per address) used to live in each worker's
memory, so two workers let 20 tries a minute through. Its counts now live in the shared
cache (a database table here, Redis in production).
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-pass-phrase-2027"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, body: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn")
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        CELERY_BROKER_DIR=str(tmp / "broker"),
        STATIC_ROOT=str(tmp / "static"),
        CELERY_TASK_ALWAYS_EAGER="1",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    subprocess.run(
        [*manage, "create_staff", "drlee", "--role", "clinician", "--password", PASSWORD],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = _free_port()
    access_log = tmp / "access.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "clinic.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(h)s %(r)s %(s)s",
        "--logger-class",
        "clinic.access_log.GunicornLogger",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "gunicorn exited"
            try:
                if _request(f"{base}/healthz") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz"
            time.sleep(0.3)
        yield base, access_log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_two_workers_share_one_login_throttle(server):
    base, access_log = server
    # Twenty different usernames from one address: no lockout count reaches its limit, only the throttle counts.
    codes = [_request(f"{base}/api/v1/auth/token/", {"username": f"user{n}", "password": "x"}) for n in range(20)]
    assert codes.count(400) == 10, codes
    assert codes.count(429) == 10, codes
    assert codes[:10] == [400] * 10
    time.sleep(0.5)
    workers = {line.split()[0] for line in access_log.read_text().splitlines() if "/api/v1/auth/token/" in line}
    assert len(workers) == 2, "both workers answered logins"


def test_the_access_log_holds_no_link_token_and_no_query_string(server):
    base, access_log = server
    _request(f"{base}/p/SeCrEtKeY:1q2w3e:SiGnAtUrE/?utm_source=sms")
    _request(f"{base}/api/v1/patients/?search=Bell%20Nora")
    time.sleep(0.5)
    text = access_log.read_text()
    assert "GET /p/[token]/ HTTP/1.1" in text
    assert "GET /api/v1/patients/ HTTP/1.1" in text
    for secret in ("SeCrEtKeY", "SiGnAtUrE", "utm_source", "Bell", "search="):
        assert secret not in text
    assert re.search(r"^<\d+> 127\.0\.0\.1 GET /p/\[token\]/ HTTP/1\.1 404$", text, re.MULTILINE)

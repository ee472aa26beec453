"""Booking over HTTP under production settings, beside PostgreSQL's own exclusion-constraint insert rate.

    .venv/bin/python bench/booking.py [--repeats 3] [--markdown PATH] [--duration 20] [--clients 16]
        [--redis-outage 60]

What it does, each time from nothing:

- creates its own PostgreSQL database (`cd_book_bench`) and its own redis-server on a free loopback port
  (the broker and the shared cache), migrates, and builds a clinic big enough for every booking of the run:
  100 clinicians at 10 locations working 06:00–22:00 every day, and one new patient per booking, each on
  an active course whose last treatment was 100 days ago. The bookings are treatments (the path API.md
  and the pinned query count describe, tests/scheduling/test_booking_queries.py), not consultations: a
  patient with a completed treatment of the course is past the first treatment's eligibility rules and
  84 days past the last one, so each booking is valid and all of the course rules are still judged;
- starts gunicorn on 127.0.0.1:<free port> with docker-compose.yml's web command (its worker model and
  options; only the bind address changes) and CYCLEDESK_PRODUCTION=1 (DEBUG off, the production database
  connections, axes on; SECURE_SSL_REDIRECT=0 since this is plain HTTP on loopback);
- `--clients` threads, each with one keep-alive `http.client` connection, POST a booking each on its own
  free slot (slot n: clinician n mod 100, the n÷100-th half hour from tomorrow) with a front-desk token
  for `--duration` seconds; every answer must be 201. The anchor, in the same run: pgbench, as many
  clients for as long, inserting into a table with the sessions' exclusion constraints (gist over the
  clinician and the patient each with the tstzrange, btree_gist);
- the floor, after each repeat: as many clients GET one location (`/api/v1/locations/{id}/`, the same token)
  for 10 s, so the CPU a request costs through the same stack without a booking's work is beside the
  booking's; with the machine's cores, each gives the most requests a second that CPU allows;
- the race: 50 threads, each with a connection already open, book the same slot for 50 patients at once:
  exactly one 201, 49 × 409 `slot_unavailable` (API.md's code for a busy clinician);
- `--redis-outage S` (not run by default): a Celery worker and an SMTP sink (aiosmtpd) join; sessions are
  booked whose day-before reminder falls due during the outage; bookings run at `--outage-rate` a second
  while the bench's redis-server is killed for S seconds and started again (empty, as after a crash);
  then beat's queueing job runs once, and the worker must deliver every reminder due in the outage and
  every booking's confirmation, each exactly once (the sink's Message-IDs).

The database, redis-server, gunicorn, worker and temporary folder are removed at the end, even on failure.
"""

import argparse
import glob
import http.client
import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import stop_group, write_section  # noqa: E402  (the project root is on the path now)

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "cd_book_bench"
CLINICIANS, LOCATIONS = 100, 10
OPENS, CLOSES = clock(6), clock(22)
SLOT = timedelta(minutes=30)
SLOTS_PER_DAY = int((datetime.combine(date.min, CLOSES) - datetime.combine(date.min, OPENS)) / SLOT)
ALL_ROLES = ("front_desk", "clinician", "clinic_admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Redis:
    """A redis-server of the bench's own, no persistence (a restart starts empty)."""

    def __init__(self, workdir: Path):
        self.port, self.workdir, self.process = free_port(), workdir, None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for(self.answers, 10):
            raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def compose_web_command() -> list[str]:
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"]
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def gunicorn_argv(port: int, override: str | None) -> list[str]:
    """The compose file's web command, bound to loopback; `override` (e.g. "--workers 2 --threads 8
    --worker-class gthread") replaces its worker options, to compare worker models."""
    args = compose_web_command()[1:]
    out, skip = [], False
    worker_options = ("--workers", "-w", "--threads", "--worker-class", "-k", "--worker-connections")
    for token in args:
        if skip:
            skip = False
            continue
        if token in ("--bind", "-b"):
            out += [token, f"127.0.0.1:{port}"]
            skip = True
        elif override is not None and token in worker_options:
            skip = True
        elif token.startswith("--bind="):
            out.append(f"--bind=127.0.0.1:{port}")
        else:
            out.append(token)
    if override is not None:
        out += shlex.split(override)
    return [str(Path(sys.executable).parent / "gunicorn"), *out]


class Gunicorn:
    def __init__(self, env: dict, workdir: Path, override: str | None):
        self.port = free_port()
        self.argv = gunicorn_argv(self.port, override)
        self.env, self.log = env, workdir / "gunicorn.log"
        self.process = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        if not wait_for(self._healthy, 60):
            self.stop()
            raise RuntimeError("gunicorn did not start:\n" + self.log.read_text()[-3000:])

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (from /proc; workers never restart here)."""
        return sum(process_cpu(pid) for pid in [self.process.pid, *children(self.process.pid)])

    def stop(self) -> None:
        stop_group(self.process)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def database_cpu() -> float:
    """CPU of the PostgreSQL backends connected to the bench database now (persistent connections: the
    web workers' own)."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [DB_NAME])]
    return sum(process_cpu(pid) for pid in pids)


def admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def error_code(body: bytes) -> str:
    try:
        return json.loads(body).get("code", "?")
    except ValueError:
        return "not-json"


class Clinic:
    """The bench clinic (module docstring): slots and patients handed out one per booking, never twice."""

    def __init__(self):
        # Imported here, not at the top: main() sets up Django with the bench's environment first.
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from rest_framework.authtoken.models import Token

        from cycles.models import Protocol
        from notifications.models import ReminderPolicy
        from scheduling.models import Clinician, Location, WorkingHours

        self.now = datetime.now(UTC)
        self.first_day = self.now.date() + timedelta(days=1)
        self.protocol = Protocol.default()
        self.locations = [Location.objects.create(name=f"Bench {k}", time_zone="UTC") for k in range(LOCATIONS)]
        self.clinicians = []
        for index in range(CLINICIANS):
            location = self.locations[index % LOCATIONS]
            clinician = Clinician.objects.create(name=f"Dr Bench {index}")
            clinician.locations.add(location)
            self.clinicians.append((clinician, location))
        WorkingHours.objects.bulk_create(
            WorkingHours(clinician=c, location=loc, weekday=day, start_time=OPENS, end_time=CLOSES)
            for c, loc in self.clinicians
            for day in range(7)
        )
        # Who gave the patients' last treatments, 100 days ago and before, a half hour each: never overlapping.
        self.history_clinicians = [Clinician.objects.create(name=f"Dr Bench History {k}") for k in range(50)]
        self.history_base = self.now - timedelta(days=100)
        # Email reminders a week and a day before, no SMS, no quiet hours: the outage scenario's worker
        # runs on the real clock at whatever hour the bench runs; diary requests are not this bench's.
        ReminderPolicy.current()
        ReminderPolicy.objects.update(
            email_days_before=[7, 1], sms_days_before=[], quiet_start=clock(0), quiet_end=clock(0), diary_every_days=0
        )
        user = get_user_model().objects.create_user("bench-front-desk", password=secrets.token_urlsafe(20))
        user.groups.add(Group.objects.get_or_create(name="front_desk")[0])
        self.token = Token.objects.create(user=user).key
        self.patients: list[str] = []
        self.slots = itertools.count()  # next() on a count is atomic: each thread gets its own numbers
        self.history = itertools.count()
        self._lock = threading.Lock()
        self.patients_taken = 0

    def add_patients(self, count: int) -> None:
        """`count` new patients, each on an active course whose last treatment was 100 days ago."""
        # Imported here, not at the top: main() sets up Django with the bench's environment first.
        from cycles.models import Course
        from patients.models import Patient
        from scheduling.models import Session

        location = self.locations[0]
        for first in range(0, count, 2000):
            patients, courses, sessions = [], [], []
            for _ in range(first, min(first + 2000, count)):
                n = next(self.history)
                patient = Patient(
                    id=uuid.uuid4(),
                    mrn=f"BB{n:08d}",
                    given_name="Bench",
                    family_name=f"Patient{n}",
                    date_of_birth=date(1970, 1, 1) + timedelta(days=n % 9000),
                    email=f"bench{n}@example.com",
                    time_zone="UTC",
                    email_opt_in=True,
                    sms_opt_in=False,
                )
                course = Course(id=uuid.uuid4(), patient=patient, protocol=self.protocol)
                start = self.history_base - SLOT * (n // len(self.history_clinicians))
                sessions.append(
                    Session(
                        patient=patient,
                        course=course,
                        clinician=self.history_clinicians[n % len(self.history_clinicians)],
                        location=location,
                        kind=Session.Kind.TREATMENT,
                        start=start,
                        end=start + SLOT,
                        status=Session.Status.COMPLETED,
                        cycle_number=1,
                        completed_at=start,
                    )
                )
                patients.append(patient)
                courses.append(course)
            Patient.objects.bulk_create(patients)
            Course.objects.bulk_create(courses)
            Session.objects.bulk_create(sessions)
            self.patients += [str(p.id) for p in patients]

    def take_patient(self) -> str | None:
        with self._lock:
            if self.patients_taken >= len(self.patients):
                return None
            self.patients_taken += 1
            return self.patients[self.patients_taken - 1]

    @property
    def patients_left(self) -> int:
        return len(self.patients) - self.patients_taken

    def next_booking(self) -> dict | None:
        patient = self.take_patient()
        if patient is None:
            return None
        n = next(self.slots)
        clinician, location = self.clinicians[n % CLINICIANS]
        k = n // CLINICIANS
        day = self.first_day + timedelta(days=k // SLOTS_PER_DAY)
        start = datetime.combine(day, OPENS, tzinfo=UTC) + SLOT * (k % SLOTS_PER_DAY)
        return {
            "patient": patient,
            "clinician": str(clinician.pk),
            "location": str(location.pk),
            "start": start.isoformat(),
            "kind": "treatment",
        }


def post(conn: http.client.HTTPConnection, token: str, body: dict) -> tuple[int, bytes]:
    conn.request(
        "POST",
        "/api/v1/sessions/",
        json.dumps(body),
        {"Authorization": f"Token {token}", "Content-Type": "application/json", "Host": "127.0.0.1"},
    )
    response = conn.getresponse()
    return response.status, response.read()


def load(clinic: Clinic, port: int, clients: int, seconds: float, rate: float | None = None) -> dict:
    """`clients` threads booking for `seconds` (at most `rate` bookings a second in all, if given)."""
    records: list[tuple[float, float, int, str]] = []  # (sent at, latency, status, error code)
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + seconds
    exhausted = threading.Event()

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, sent = [], 0
        while time.monotonic() < stop_at:
            if rate:
                wait = started + (sent * clients + index) / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            body = clinic.next_booking()
            if body is None:
                exhausted.set()
                break
            sent += 1
            began = time.monotonic()
            try:
                status, raw = post(conn, clinic.token, body)
                code = "" if status == 201 else error_code(raw)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, code = 0, type(exc).__name__
            mine.append((began - started, time.monotonic() - began, status, code))
        conn.close()
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ok = [r for r in records if r[2] == 201]
    latencies = [r[1] for r in ok]
    return {
        "records": records,
        "elapsed": elapsed,
        "ok": len(ok),
        "errors": len(records) - len(ok),
        "error_kinds": Counter((r[2], r[3]) for r in records if r[2] != 201),
        "rate": len(ok) / elapsed,
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "exhausted": exhausted.is_set(),
    }


def floor(port: int, token: str, path: str, clients: int, seconds: float) -> dict:
    """`clients` threads GETting `path` (one small authenticated read) for `seconds`: the cost of a request
    through the same stack (middleware, token authentication, one row, JSON) without a booking's work."""
    counts: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Token {token}", "Host": "127.0.0.1"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: Counter = Counter()
        while time.monotonic() < stop_at:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine[response.status] += 1
        conn.close()
        with lock:
            counts.update(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"ok": counts[200], "errors": sum(counts.values()) - counts[200], "rate": counts[200] / elapsed}


ANCHOR_DDL = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
DROP TABLE IF EXISTS anchor_session;
DROP SEQUENCE IF EXISTS anchor_seq;
CREATE SEQUENCE anchor_seq;
CREATE TABLE anchor_session (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinician_id uuid NOT NULL,
    patient_id uuid NOT NULL,
    start timestamptz NOT NULL,
    "end" timestamptz NOT NULL,
    status varchar(16) NOT NULL,
    CONSTRAINT anchor_clinician_no_overlap EXCLUDE USING gist
        (tstzrange(start, "end", '[)') WITH &&, clinician_id WITH =)
        WHERE (status IN ('booked', 'confirmed', 'checked_in', 'completed')),
    CONSTRAINT anchor_patient_no_overlap EXCLUDE USING gist
        (tstzrange(start, "end", '[)') WITH &&, patient_id WITH =)
        WHERE (status IN ('booked', 'confirmed', 'checked_in', 'completed'))
);
"""
# A booking a transaction: a free half hour of one of 100 clinicians for a new patient, as the HTTP load.
ANCHOR_SCRIPT = """\\set unused 0
INSERT INTO anchor_session (clinician_id, patient_id, start, "end", status)
SELECT md5((n % 100)::text)::uuid, gen_random_uuid(), t, t + interval '30 minutes', 'booked'
FROM (SELECT n, timestamptz '2030-01-01 00:00+00' + (n / 100) * interval '30 minutes' AS t
      FROM (SELECT nextval('anchor_seq') AS n) AS s) AS q;
"""


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))), None)
    if not found:
        raise RuntimeError("pgbench not found (PATH or /usr/lib/postgresql/*/bin)")
    return found


def pgbench(workdir: Path, clients: int, seconds: float) -> float:
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute(ANCHOR_DDL)
    script = workdir / "anchor.sql"
    script.write_text(ANCHOR_SCRIPT)
    url = psycopg.conninfo.conninfo_to_dict(f"{PG}/{DB_NAME}")
    argv = [pgbench_binary(), "-n", "-c", str(clients), "-j", "2", "-T", str(round(seconds)), "-f", str(script)]
    argv += ["-h", url.get("host", "127.0.0.1"), "-p", str(url.get("port", 5432)), "-U", url.get("user", "postgres")]
    result = subprocess.run([*argv, DB_NAME], capture_output=True, text=True, timeout=seconds + 120)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1))


def race(clinic: Clinic, port: int, ways: int = 50) -> Counter:
    """`ways` threads, each with its connection open, book one slot for `ways` patients at once."""
    clinician, location = clinic.clinicians[0]
    start = datetime.combine(clinic.first_day + timedelta(days=300), clock(10), tzinfo=UTC)  # nobody's slot
    barrier = threading.Barrier(ways)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def one() -> None:
        body = {
            "patient": clinic.take_patient(),
            "clinician": str(clinician.pk),
            "location": str(location.pk),
            "start": start.isoformat(),
            "kind": "treatment",
        }
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        barrier.wait()
        status, raw = post(conn, clinic.token, body)
        with lock:
            outcomes.append((status, "" if status == 201 else error_code(raw)))
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(ways)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(outcomes)


class SmtpSink:
    """aiosmtpd on loopback, keeping each message's Message-ID."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.ids: list[str] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):
        match = re.search(rb"^Message-ID:\s*(<[^>]+>)", envelope.original_content, re.I | re.M)
        self.ids.append(match.group(1).decode() if match else "?")
        return "250 OK"


class Worker:
    """A Celery worker restarted whenever it exits, as compose's `restart: unless-stopped` does (kombu's
    Redis transport can end the worker with an "Unrecoverable error" when the broker goes away mid-task)."""

    def __init__(self, env: dict, workdir: Path):
        self.env, self.log_path = env, workdir / "worker.log"
        self.process, self.restarts, self._stopping = None, 0, threading.Event()
        self._watch = threading.Thread(target=self._supervise, daemon=True)

    def _spawn(self) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--loglevel", "INFO", "--concurrency", "2"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
            )

    def start(self) -> "Worker":
        self._spawn()
        if not wait_for(lambda: b" ready." in self.log_path.read_bytes(), 60):
            raise RuntimeError("celery worker did not start")
        self._watch.start()
        return self

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            if self.process.poll() is not None and not self._stopping.is_set():
                self.restarts += 1
                time.sleep(1)
                self._spawn()
            time.sleep(0.5)

    def stop(self) -> None:
        self._stopping.set()
        stop_group(self.process)


def outage(clinic: Clinic, gunicorn: Gunicorn, redis: Redis, env: dict, workdir: Path, args) -> dict:
    """Redis killed for `args.redis_outage` seconds during a booking load (module docstring)."""
    # Imported here, not at the top: main() sets up Django with the bench's environment first.
    from django.utils import timezone

    from notifications import services
    from notifications.models import Notification
    from patients.models import Patient
    from scheduling.models import Clinician, Location, WorkingHours

    seconds = args.redis_outage
    # Earlier phases' messages are not this scenario's (no worker ran then): set aside.
    Notification.objects.filter(status="pending").update(status="skipped", skip_reason="bench_earlier_phase")
    sink = SmtpSink()
    sink.controller.start()
    worker = None
    try:
        worker = Worker({**env, "EMAIL_PORT": str(sink.controller.port)}, workdir).start()
        # Reminders due during the outage: sessions a day and a bit ahead at a location whose local time
        # is about noon now, so any second of the day is inside working hours.
        east = (12 - datetime.now(UTC).hour + 12) % 24 - 12
        zone = "Etc/GMT" if east == 0 else f"Etc/GMT{-east:+d}"
        location = Location.objects.create(name="Bench outage", time_zone=zone)
        reminder_clinicians = []
        for index in range(args.outage_reminders):
            clinician = Clinician.objects.create(name=f"Dr Outage {index}")
            clinician.locations.add(location)
            reminder_clinicians.append(clinician)
        WorkingHours.objects.bulk_create(
            WorkingHours(clinician=c, location=location, weekday=d, start_time=clock(0), end_time=clock(23, 59))
            for c in reminder_clinicians
            for d in range(7)
        )
        down_at = datetime.now(UTC) + timedelta(seconds=15 + 0.5 * len(reminder_clinicians))
        conn = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=30)
        reminder_sessions = []
        for index, clinician in enumerate(reminder_clinicians):
            due = down_at + timedelta(seconds=seconds) * (index + 0.5) / len(reminder_clinicians)
            body = {
                "patient": clinic.take_patient(),
                "clinician": str(clinician.pk),
                "location": str(location.pk),
                "start": (due + timedelta(days=1)).isoformat(),
                "kind": "treatment",
            }
            status, raw = post(conn, clinic.token, body)
            if status != 201:
                raise RuntimeError(f"outage reminder booking: {status} {raw[:300]!r}")
            reminder_sessions.append(json.loads(raw)["id"])
        conn.close()

        lead = (down_at - datetime.now(UTC)).total_seconds()
        if lead < 2:
            raise RuntimeError("booking the reminders' sessions took longer than the lead before the outage")
        started = time.monotonic()
        timeline: dict = {}

        def cut() -> None:
            time.sleep(max(0.0, (down_at - datetime.now(UTC)).total_seconds()))
            timeline["down"], timeline["down_at"] = time.monotonic() - started, datetime.now(UTC)
            redis.kill()
            time.sleep(seconds)
            redis.start()
            timeline["up"], timeline["up_at"] = time.monotonic() - started, datetime.now(UTC)

        cutter = threading.Thread(target=cut)
        cutter.start()
        result = load(clinic, gunicorn.port, args.clients, lead + seconds + 10, rate=args.outage_rate)
        cutter.join()
        during = [r for r in result["records"] if timeline["down"] <= r[0] < timeline["up"]]
        # The spare patients of the pool are the bench's, not the clinic's: no "time to book" message to them.
        Patient.objects.filter(id__in=clinic.patients[clinic.patients_taken :]).update(status=Patient.Status.PAUSED)

        queued = services.notifications_queue()  # beat's 5-minute job, once Redis is back
        now = timezone.now()
        due_rows = Notification.objects.filter(due_at__lte=now, channel="email").exclude(status="skipped")
        reminders = Notification.objects.filter(
            session_id__in=reminder_sessions,
            purpose="reminder",
            offset_days=1,
            due_at__gte=timeline["down_at"],
            due_at__lt=timeline["up_at"],
        )
        expected = {f"<notification-{i}@cycledesk.example>" for i in due_rows.values_list("id", flat=True)}
        wait_for(lambda: expected <= set(sink.ids), args.outage_wait, interval=1)
        time.sleep(2)  # any duplicate would arrive now
        counts = Counter(sink.ids)
        reminder_ids = {f"<notification-{i}@cycledesk.example>" for i in reminders.values_list("id", flat=True)}
        return {
            "seconds": seconds,
            "during_ok": sum(1 for r in during if r[2] == 201),
            "during_failed": sum(1 for r in during if r[2] != 201),
            "all_ok": result["ok"],
            "all_failed": result["errors"],
            "during_p95": percentile([r[1] for r in during if r[2] == 201], 0.95) * 1000,
            "enqueued_after": queued.enqueued,
            "reminders_due": len(reminder_ids),
            "reminders_delivered": sum(1 for i in reminder_ids if counts[i] >= 1),
            "expected": len(expected),
            "delivered": sum(1 for i in expected if counts[i] >= 1),
            "duplicates": sum(n - 1 for n in counts.values() if n > 1),
            "worker_restarts": worker.restarts,
        }
    finally:
        if worker:
            worker.stop()
        sink.controller.stop()


def markdown(args, argv_text: str, runs: list[dict], race_counts: Counter, outage_result: dict | None) -> str:
    keys = ("rate", "p50", "p95", "errors", "tps", "app_cpu_ms", "db_cpu_ms")
    keys += ("floor_rate", "floor_app_cpu_ms", "floor_db_cpu_ms")
    med = {key: statistics.median(run[key] for run in runs) for key in keys}
    ratio = med["rate"] / med["tps"] * 100
    cores = os.cpu_count() or 1
    # What the machine could do if the CPU a booking takes were all there was: its cores over that CPU.
    ceiling = cores / ((med["app_cpu_ms"] + med["db_cpu_ms"]) / 1000)
    floor_ceiling = cores / ((med["floor_app_cpu_ms"] + med["floor_db_cpu_ms"]) / 1000)
    lines = [
        "## Booking over HTTP",
        "",
        f"`python bench/booking.py --repeats {args.repeats}`: {args.clients} threads with a keep-alive HTTP "
        f"connection each POST treatment bookings (`/api/v1/sessions/`, a front-desk token, each on a free slot "
        f"for a new patient on a course due, so every one must be a 201) for {args.duration:g} s to gunicorn "
        f"started with docker-compose.yml's web command (`{argv_text}`) under production settings "
        "(CYCLEDESK_PRODUCTION=1, persistent database connections) on PostgreSQL, a redis-server as broker. "
        f"The anchor, in the same run: pgbench, {args.clients} clients for as long, each transaction one "
        "INSERT into a table with the sessions' two exclusion constraints (gist over clinician or patient and "
        f"the tstzrange, btree_gist). Medians of {len(runs)} repeats; the ratio is the application's "
        "bookings a second over pgbench's inserts a second.",
        "",
        "| figure | value | anchor | ratio | target |",
        "|---|---|---|---|---|",
        f"| bookings/s | {med['rate']:.0f} | pgbench {med['tps']:.0f} inserts/s | {ratio:.1f} % | ≥ 300/s, ≥ 5 % |",
        f"| p50 latency | {med['p50']:.1f} ms | | | |",
        f"| p95 latency | {med['p95']:.1f} ms | | | ≤ 100 ms |",
        f"| errors (non-201) | {med['errors']:.0f} | | | 0 |",
        f"| CPU a booking: gunicorn / PostgreSQL | {med['app_cpu_ms']:.1f} ms / {med['db_cpu_ms']:.1f} ms | | | |",
        f"| … so {cores} cores allow at most | {ceiling:.0f} bookings/s | | | |",
        f"| an authenticated GET of one location, same clients, 10 s | {med['floor_rate']:.0f}/s, CPU "
        f"{med['floor_app_cpu_ms']:.1f} ms / {med['floor_db_cpu_ms']:.1f} ms (at most {floor_ceiling:.0f}/s) | | | |",
        f"| 50-way race on one slot | {race_summary(race_counts)} | | | one 201, 49 × 409 |",
    ]
    if outage_result:
        o = outage_result
        lines += [
            f"| Redis down {o['seconds']:g} s: bookings during | {o['during_ok']} ok, {o['during_failed']} failed "
            f"(p95 {o['during_p95']:.0f} ms) | | | all ok |",
            f"| … reminders due in the outage, delivered after | {o['reminders_delivered']} of {o['reminders_due']} "
            f"| | | all |",
            f"| … all due emails delivered once | {o['delivered']} of {o['expected']}, {o['duplicates']} duplicates "
            f"(worker restarted {o['worker_restarts']} ×, as compose would) | | | all, 0 |",
        ]
    return "\n".join(lines) + "\n"


def race_summary(counts: Counter) -> str:
    return ", ".join(f"{n} × {status}{' ' + code if code else ''}" for (status, code), n in sorted(counts.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per repeat")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--race", type=int, default=50, help="threads booking one slot at once")
    parser.add_argument("--gunicorn", help='replace the compose worker options, e.g. "--workers 5"')
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="extra server env")
    parser.add_argument("--redis-outage", type=float, default=0, metavar="SECONDS", help="run the outage scenario")
    parser.add_argument("--outage-rate", type=float, default=20.0, help="bookings a second during the scenario")
    parser.add_argument("--outage-reminders", type=int, default=30, help="reminders falling due in the outage")
    parser.add_argument("--outage-wait", type=float, default=600.0, help="seconds to wait for the deliveries")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cycledesk-bench-booking-"))
    redis = Redis(workdir)
    gunicorn = None
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "VIRTUAL_ENV")}
    try:
        admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin(f"CREATE DATABASE {DB_NAME}")
        redis.start()
        env.update(
            DJANGO_SETTINGS_MODULE="clinic.settings",
            CYCLEDESK_PRODUCTION="1",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_DEBUG="0",
            SECURE_SSL_REDIRECT="0",
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=f"{PG}/{DB_NAME}",
            CELERY_BROKER_URL=redis.url(0),
            REDIS_URL=redis.url(1),
            EMAIL_BACKEND="smtp",
            EMAIL_HOST="127.0.0.1",
            SMS_BACKEND="console",
            STATIC_ROOT=str(workdir / "static"),
            CELERY_BEAT_SCHEDULE_FILENAME=str(workdir / "beat"),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.update(item.split("=", 1) for item in args.set)
        os.environ.update(env)
        # Imported here, not at the top: Django reads the environment just set (the bench's database and redis).
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        clinic = Clinic()
        gunicorn = Gunicorn(env, workdir, args.gunicorn)
        argv_text = " ".join(gunicorn.argv[1:])
        print(f"gunicorn {argv_text}", flush=True)

        # A short warm-up tells how many patients a repeat needs (one each booking, never reused).
        clinic.add_patients(2000)
        gunicorn.start()
        warm = load(clinic, gunicorn.port, args.clients, 3)
        print(f"warm-up: {warm['rate']:.0f} bookings/s, {warm['errors']} errors {dict(warm['error_kinds'])}")
        runs = []
        for repeat in range(args.repeats):
            need = int(max(warm["rate"], *(r["rate"] for r in runs), 200) * args.duration * 2) + 500
            clinic.add_patients(max(0, need - clinic.patients_left))
            cpu_before, db_before = gunicorn.cpu_seconds(), database_cpu()
            result = load(clinic, gunicorn.port, args.clients, args.duration)
            result["app_cpu_ms"] = (gunicorn.cpu_seconds() - cpu_before) / max(1, result["ok"]) * 1000
            result["db_cpu_ms"] = (database_cpu() - db_before) / max(1, result["ok"]) * 1000
            if result["exhausted"]:
                raise RuntimeError("the bench ran out of patients: raise the margin")
            result["tps"] = pgbench(workdir, args.clients, args.duration)
            cpu_before, db_before = gunicorn.cpu_seconds(), database_cpu()
            read = floor(gunicorn.port, clinic.token, f"/api/v1/locations/{clinic.locations[0].pk}/", args.clients, 10)
            if read["errors"]:
                raise RuntimeError(f"the floor's GETs failed: {read}")
            result["floor_rate"] = read["rate"]
            result["floor_app_cpu_ms"] = (gunicorn.cpu_seconds() - cpu_before) / max(1, read["ok"]) * 1000
            result["floor_db_cpu_ms"] = (database_cpu() - db_before) / max(1, read["ok"]) * 1000
            runs.append(result)
            print(
                f"repeat {repeat + 1}: {result['rate']:.0f} bookings/s ({result['ok']} in {result['elapsed']:.1f} s), "
                f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, errors {result['errors']} "
                f"{dict(result['error_kinds'])}; pgbench {result['tps']:.0f} tps; "
                f"ratio {result['rate'] / result['tps'] * 100:.1f} %; CPU a booking: gunicorn "
                f"{result['app_cpu_ms']:.1f} ms, PostgreSQL {result['db_cpu_ms']:.1f} ms",
                flush=True,
            )
        clinic.add_patients(args.race + args.outage_reminders + int(args.outage_rate * (args.redis_outage + 30)))
        race_counts = race(clinic, gunicorn.port, args.race)
        print(f"race of {args.race} on one slot: {race_summary(race_counts)}", flush=True)
        outage_result = None
        if args.redis_outage:
            outage_result = outage(clinic, gunicorn, redis, env, workdir, args)
            print(f"redis outage: {json.dumps(outage_result)}", flush=True)

        med = {key: statistics.median(r[key] for r in runs) for key in ("rate", "p50", "p95", "errors", "tps")}
        print(
            f"median of {len(runs)}: {med['rate']:.0f} bookings/s, p50 {med['p50']:.1f} ms, p95 {med['p95']:.1f} ms, "
            f"errors {med['errors']:.0f}; pgbench {med['tps']:.0f} tps; ratio {med['rate'] / med['tps'] * 100:.1f} %"
        )
        write_section(args.markdown, markdown(args, argv_text, runs, race_counts, outage_result))
        failed = any(r["errors"] for r in runs) or race_counts != Counter({(201, ""): 1, (409, "slot_unavailable"): 49})
        return 1 if failed else 0
    finally:
        if gunicorn:
            gunicorn.stop()
        redis.kill()
        if "django.db" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
            from django.db import connections  # set up by now: close this process's connections

            connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

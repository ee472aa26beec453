"""Bench: the day view and the week view of a busy location, rendered server-side on PostgreSQL.

    .venv/bin/python bench/day_view.py [--repeats 3] [--markdown PATH] [--runs 20] [--profile]

Makes its own PostgreSQL database (cd_view_bench) and runs with production settings (CYCLEDESK_PRODUCTION=1,
DEBUG off: the cached template loader, the manifest static storage after a collectstatic into a temporary
folder, Redis as the cache). One location (America/New_York) with 20 clinicians working 07:00-23:00 on
weekdays: 32 half-hour sessions each, so the measured day has 640 sessions, every slot booked; the measured
week (the week of the measured day) is booked the same way on each of its five working days (3,200
sessions), and twelve weeks of history before it are booked at 70 % (completed, no-shows, cancellations),
over 4,000 patients. The measured day is today in New York, or the next Monday on a weekend: its sessions
before now are completed, checked in or no-shows, the later ones booked or confirmed, so the buttons vary
as they do at the desk.

Each request is a GET through Django's test client as a logged-in front-desk user: the whole request
(middleware, session, view, selectors, free-slot search, template, the audit INSERT). One warm-up render
is excluded, then `--runs` renders give the median, p95 and the queries of one render; `--repeats` repeats
this and reports the medians of the repeats. `--profile day|week` prints a cProfile of that view's renders.
The database and the static folder are removed at the end, even on failure.
"""

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import write_section  # noqa: E402  (the project root is on the path now)

DB_NAME = "cd_view_bench"
SERVER = "postgres://postgres@127.0.0.1:5432"
os.environ.update(
    DJANGO_SETTINGS_MODULE="clinic.settings",
    DATABASE_URL=f"{SERVER}/{DB_NAME}",
    DJANGO_DEBUG="0",
    CYCLEDESK_PRODUCTION="1",
    SECURE_SSL_REDIRECT="0",
    DJANGO_SECRET_KEY="bench-only-" + "k" * 50,
    DJANGO_ALLOWED_HOSTS="testserver",
    AXES_ENABLED="0",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    CELERY_BROKER_URL="redis://127.0.0.1:6379/8",
)

CLINICIANS = 20
SLOTS = 32  # half-hours from 07:00 to 23:00
OPEN = clock(7)
CLOSE = clock(23)
PATIENTS = 4000
HISTORY_WEEKS = 12
HISTORY_FILL = 0.7


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def measured_day(today: date) -> date:
    return today if today.weekday() < 5 else today + timedelta(days=7 - today.weekday())


def build(day: date):
    """The location, its clinicians and hours, patients, the measured week and its history (bulk inserts)."""
    import random

    from django.db import connection
    from django.utils import timezone

    from clinic.timezones import local_datetime
    from cycles.models import Protocol
    from patients.models import Patient
    from scheduling.models import Clinician, Location, Session, WorkingHours

    rng = random.Random(16)
    Protocol.default()
    location = Location.objects.create(name="Midtown", time_zone="America/New_York")
    clinicians = Clinician.objects.bulk_create(Clinician(name=f"Dr {i:02d}") for i in range(CLINICIANS))
    for c in clinicians:
        c.locations.add(location)
    WorkingHours.objects.bulk_create(
        WorkingHours(clinician=c, location=location, weekday=d, start_time=OPEN, end_time=CLOSE)
        for c in clinicians
        for d in range(5)
    )
    patients = Patient.objects.bulk_create(
        (
            Patient(
                mrn=f"B{i:06d}",
                given_name=rng.choice(["Ana", "Ben", "Chloé", "Dev", "Eve", "Femi", "Grace", "Hiro"]),
                family_name=f"Benchmark-{i}",
                date_of_birth=date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
                phone=f"+1212555{i % 10000:04d}",
            )
            for i in range(PATIENTS)
        ),
        batch_size=2000,
    )
    now = timezone.now()
    monday = day - timedelta(days=day.weekday())
    kinds = ["treatment"] * 6 + ["consultation", "review"]
    batch: list[Session] = []

    def book(on: date, history: bool) -> None:
        serial = (on - monday).days * CLINICIANS * SLOTS
        for slot in range(SLOTS):
            for i, clinician in enumerate(clinicians):
                if history and rng.random() > HISTORY_FILL:
                    continue
                start = local_datetime(on, OPEN, location.zone) + timedelta(minutes=30 * slot)
                if start + timedelta(minutes=30) <= now:
                    status = rng.choices(["completed", "no_show", "cancelled", "checked_in"], [85, 5, 8, 2])[0]
                    if not history and status == "cancelled":
                        status = "completed"
                else:
                    status = rng.choices(["booked", "confirmed", "checked_in"], [60, 35, 5])[0]
                    if status == "checked_in" and on != day:
                        status = "confirmed"
                batch.append(
                    Session(
                        patient=patients[(serial + slot * CLINICIANS + i) % PATIENTS],
                        clinician=clinician,
                        location=location,
                        kind=rng.choice(kinds),
                        start=start,
                        end=start + timedelta(minutes=30),
                        status=status,
                        cancel_reason="Patient asked" if status == "cancelled" else "",
                    )
                )
        if len(batch) >= 5000:
            Session.objects.bulk_create(batch)
            batch.clear()

    for back in range(HISTORY_WEEKS * 7, 0, -1):
        past = monday - timedelta(days=back)
        if past.weekday() < 5:
            book(past, history=True)
    for offset in range(5):
        book(monday + timedelta(days=offset), history=False)
    Session.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return location


def measure(client, url: str, runs: int, profile: cProfile.Profile | None = None, verbose: bool = False) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up: templates compiled and cached, the cache connected
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        response = client.get(url)
        if profile is not None:
            profile.disable()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    times.sort()
    if verbose:
        slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:5]
        for q in slowest:
            print(f"    {float(q['time']) * 1000:6.1f} ms  {q['sql'][:110]}", file=sys.stderr)
    return {
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "queries": len(queries),
        "bytes": len(response.content),
        "html": response.content.decode(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--runs", type=int, default=20, help="renders per repeat after the warm-up (20)")
    parser.add_argument("--profile", choices=["day", "week"], help="print a cProfile of this view's renders")
    parser.add_argument("--queries", action="store_true", help="print the slowest queries of a render")
    args = parser.parse_args()

    static = tempfile.mkdtemp(prefix="cd-view-bench-static-")  # collectstatic's manifest, as in production
    os.environ["STATIC_ROOT"] = static
    _psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    _psql(f"CREATE DATABASE {DB_NAME}")
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        shutil.rmtree(static, ignore_errors=True)


def run(args) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from clinic.roles import FRONT_DESK, ensure_groups
    from clinic.timezones import today_in
    from tests.factories import UserFactory

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    ensure_groups()
    day = measured_day(today_in(ZoneInfo("America/New_York")))
    location = build(day)
    print(f"built in {time.perf_counter() - started:.0f} s; measured day {day}", file=sys.stderr)
    client = Client()
    client.force_login(UserFactory(username="bench-desk", role=FRONT_DESK))
    views = {
        "day": (f"/day/?location={location.id}&date={day.isoformat()}", 'class="appt '),
        "week": (f"/week/?location={location.id}&date={day.isoformat()}", "<li class="),
    }
    profile = cProfile.Profile() if args.profile else None
    results: dict[str, list[dict]] = {name: [] for name in views}
    for repeat in range(args.repeats):
        for name, (url, marker) in views.items():
            r = measure(client, url, args.runs, profile if name == args.profile else None, args.queries)
            r["sessions"] = r.pop("html").count(marker)
            results[name].append(r)
            print(
                f"repeat {repeat + 1} {name}: median {r['median']:.1f} ms, p95 {r['p95']:.1f} ms, "
                f"{r['queries']} queries, {r['sessions']} sessions, {r['bytes'] / 1024:.0f} KiB",
                file=sys.stderr,
            )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_callees("_calendar")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    budget = 100.0
    lines = [
        "## Day and week views",
        "",
        "`bench/day_view.py`: GET /day/ and /week/ through Django's test client as a logged-in front-desk user "
        "with production settings (DEBUG off, cached template loader, Redis cache) on PostgreSQL: the whole "
        "request (middleware, session, view, selectors, free-slot search, template, audit INSERT). One location "
        "(America/New_York), 20 clinicians working 07:00-23:00 on weekdays, every half-hour booked on the measured "
        "day (640 sessions) and on each working day of its week (3,200), twelve weeks of history at 70 %, 4,000 "
        f"patients. After one warm-up render, {args.runs} renders per repeat; the figures are the medians of "
        f"{args.repeats} repeats. The budget (issue 16) is {budget:.0f} ms of server time and a fixed number of "
        "queries (pinned in tests/web/test_queries.py).",
        "",
        "| view | sessions shown | median ms | p95 ms | budget ms | median / budget | queries | HTML KiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in views:
        lines.append(
            f"| /{name}/ | {results[name][0]['sessions']} | {med(name, 'median'):.1f} | {med(name, 'p95'):.1f} "
            f"| {budget:.0f} | {med(name, 'median') / budget:.2f} | {results[name][0]['queries']} "
            f"| {med(name, 'bytes') / 1024:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

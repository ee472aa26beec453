"""CycleDesk benchmarks: sweeps, slot search and list endpoints over a synthetic clinic.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cycledesk_bench \
        .venv/bin/python bench/run.py --patients 1000 5000

For each clinic size it builds the clinic twice: once to measure the wall time
and the number of SQL queries of each job, once to measure its peak Python
memory (tracemalloc slows Python down two- to threefold, so it is kept out of
the timed pass). Query counts and peak memory should stay flat as the clinic
grows; time grows with the work done. Results go to stdout as a Markdown table
(docs/PERFORMANCE.md).
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("AXES_ENABLED", "0")
# The tasks the jobs enqueue are written to a throwaway folder and never run: only the jobs are measured
# (an in-memory broker would hold every message in this process and count it as the job's memory).
os.environ["CELERY_BROKER_URL"] = "filesystem://"
os.environ["CELERY_BROKER_DIR"] = tempfile.mkdtemp(prefix="cycledesk-bench-broker-")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from clinic.celery import app as celery_app  # noqa: E402


@contextmanager
def timed(results: dict, size: int, name: str):
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        yield
    results.setdefault((size, name), {}).update(seconds=time.perf_counter() - started, queries=queries)


@contextmanager
def traced(results: dict, size: int, name: str):
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    results.setdefault((size, name), {}).update(peak_mib=peak / 1024 / 1024)


def bench_size(size: int, results: dict, measured) -> None:
    # Project imports wait for django.setup() in main(): the benchmark picks its database first.
    from bench.generate import build_clinic
    from cycles.planner import plan_sweep
    from cycles.review import responses_sweep
    from notifications.services import notifications_queue
    from scheduling.selectors import free_slots_for

    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    clinic = build_clinic(patients=size)
    print(
        f"# built {size} patients, {clinic['sessions']} sessions, {clinic['diary_entries']} diary entries "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    analyze()
    location = clinic["locations"][0]
    today = timezone.now().astimezone(location.zone).date()

    with measured(results, size, "slot search, 1 location, 31 days"):
        free_slots_for(location=location, start_date=today, end_date=today + timedelta(days=30))
    with measured(results, size, "response review sweep (all courses)"):
        responses_sweep()
    analyze()
    with measured(results, size, "planner sweep (books due courses)"):
        outcome = plan_sweep()
    analyze()
    if measured is timed:
        print(f"# planner: {outcome}", file=sys.stderr)
    with measured(results, size, "planner sweep again (nothing to do)"):
        plan_sweep()
    with measured(results, size, "slot search after planning"):
        free_slots_for(location=location, start_date=today, end_date=today + timedelta(days=30))
    with measured(results, size, "notifications queue job"):
        notifications_queue()
    analyze()

    client = api_client()
    client.get("/api/v1/locations/")  # first request: imports and URL resolver, not measured
    busiest = busiest_day(location)
    for name, path in (
        ("GET /api/v1/patients/ (page of 200)", "/api/v1/patients/?page_size=200"),
        (
            "GET /api/v1/sessions/ (busiest day, 1 location)",
            f"/api/v1/sessions/?location={location.id}&from={busiest}&to={busiest}&page_size=200",
        ),
        ("GET /api/v1/due/?within_days=90 (page of 200)", "/api/v1/due/?within_days=90&page_size=200"),
    ):
        with measured(results, size, name):
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)


def analyze() -> None:
    """Fresh PostgreSQL statistics after a bulk write (not measured), as autovacuum gathers soon after one.

    Without them the query planner believes, say, that no session is booked a moment after the planner
    booked thousands, and picks nested loops that a running clinic never sees."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def busiest_day(location):
    """The local date at `location` with the most booked sessions (the planner has just filled the calendar)."""
    from collections import Counter

    from scheduling.models import Session

    starts = Session.objects.filter(location=location, status=Session.Status.BOOKED).values_list("start", flat=True)
    return Counter(start.astimezone(location.zone).date() for start in starts).most_common(1)[0][0]


def api_client():
    """A clinician's API client (the view's own queries are measured, not the login)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from clinic.roles import CLINICIAN, ensure_groups

    ensure_groups()
    user = get_user_model().objects.create_user("bench-api")
    user.groups.add(Group.objects.get(name=CLINICIAN))
    client = APIClient()
    client.force_authenticate(user)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, nargs="+", default=[500, 2000])
    args = parser.parse_args()
    celery_app.conf.task_always_eager = False
    call_command("migrate", interactive=False, verbosity=0)
    results: dict = {}
    for size in args.patients:
        for measured in (timed, traced):
            bench_size(size, results, measured)
    print(f"database: {connection.vendor}")
    print()
    print("| patients | job | seconds | queries | peak MiB |")
    print("|---:|---|---:|---:|---:|")
    for (size, name), row in results.items():
        print(f"| {size} | {name} | {row['seconds']:.2f} | {row['queries']} | {row['peak_mib']:.1f} |")


if __name__ == "__main__":
    main()

"""CycleDesk benchmarks: sweeps, slot search and list endpoints over a synthetic clinic.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cycledesk_bench \
        .venv/bin/python bench/run.py --patients 1000 5000

For each clinic size it rebuilds the database, then measures wall time, the
number of SQL queries and the peak Python memory (tracemalloc) of each job.
Query counts and peak memory should stay flat as the clinic grows; time grows
with the work done. Results go to stdout as a Markdown table (docs/PERFORMANCE.md).
"""

import argparse
import os
import sys
import time
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("AXES_ENABLED", "0")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from clinic.celery import app as celery_app  # noqa: E402


@contextmanager
def measured(results: list, size: int, name: str):
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        yield
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results.append((size, name, elapsed, queries, peak / 1024 / 1024))


def bench_size(size: int, results: list) -> None:
    from bench.generate import build_clinic
    from patients.review import responses_sweep
    from scheduling.planner import plan_sweep
    from scheduling.selectors import free_slots_for

    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    clinic = build_clinic(patients=size)
    print(
        f"# built {size} patients, {clinic['sessions']} sessions, {clinic['diary_entries']} diary entries "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    location = clinic["locations"][0]
    today = timezone.now().astimezone(location.zone).date()

    with measured(results, size, "slot search, 1 location, 31 days"):
        free_slots_for(location=location, start_date=today, end_date=today + timedelta(days=30))
    with measured(results, size, "response review sweep (all courses)"):
        responses_sweep()
    with measured(results, size, "planner sweep (books due courses)"):
        outcome = plan_sweep()
    print(f"# planner: {outcome}", file=sys.stderr)
    with measured(results, size, "planner sweep again (nothing to do)"):
        plan_sweep()
    with measured(results, size, "slot search after planning"):
        free_slots_for(location=location, start_date=today, end_date=today + timedelta(days=30))
    try:
        from notifications.services import notifications_queue
    except ImportError:
        return
    with measured(results, size, "notifications queue job"):
        notifications_queue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, nargs="+", default=[500, 2000])
    args = parser.parse_args()
    celery_app.conf.task_always_eager = False
    # Tasks enqueued on commit by the jobs are not run here: only the jobs themselves are measured.
    celery_app.conf.broker_url = "memory://"
    call_command("migrate", interactive=False, verbosity=0)
    results: list = []
    for size in args.patients:
        bench_size(size, results)
    print(f"database: {connection.vendor}")
    print()
    print("| patients | job | seconds | queries | peak MiB |")
    print("|---:|---|---:|---:|---:|")
    for size, name, elapsed, queries, peak in results:
        print(f"| {size} | {name} | {elapsed:.2f} | {queries} | {peak:.1f} |")


if __name__ == "__main__":
    main()

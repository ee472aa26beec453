"""The daily sweeps at the size of a clinic network: the planner, the response review sweep and the queue job.

    .venv/bin/python bench/sweeps.py                        # 20,000 and 100,000 patients, 3 repeats
    .venv/bin/python bench/sweeps.py --patients 2000 --repeats 1
    .venv/bin/python bench/sweeps.py --repeats 3 --markdown var/bench/sweeps.md

For each size and scenario of bench/generate.py a PostgreSQL database is built once (COPY, a chunk of
patients at a time) and kept as a template: `normal`, the clinic's ordinary day (1 course in 84 falls due,
everything else booked 12 weeks on, the outbox in its steady state), and `backfill`, every course's window
open at once with nothing booked (after an import: the planner's worst day). Each repeat of each job gets
a fresh copy (`CREATE DATABASE ... TEMPLATE`) and runs in its own process (`--job`), set up as a Celery worker
process is (`clinic.celery.worker_ready`: persistent connections, the set-up's objects frozen), so the peak resident
memory it reports (`getrusage(RUSAGE_SELF).ru_maxrss`, Django and the app loaded included) is the job's
process's and every repeat sees the same data. Queries are counted with `connection.execute_wrapper`.
The tasks the jobs send after commit go to a throwaway filesystem broker folder, never run. Every
database and folder made here is dropped at the end, even on failure.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import write_section  # noqa: E402  (the project root is on the path now)

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
PREFIX = os.environ.get("BENCH_DB_PREFIX", "cd_sweep")
JOBS = {
    "normal": ("planner", "review", "queue"),
    "backfill": ("planner",),
}
LABELS = {
    "planner": "planner sweep (`plan_sweep`)",
    "review": "response review sweep (`responses_sweep`, every course)",
    "queue": "notification queue job (`notifications_queue`)",
}


# --- the child processes -------------------------------------------------------------------------


def _django(database: str, broker: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=f"{SERVER}/{database}",
        AXES_ENABLED="0",
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_DIR=broker,
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()


def child_build(args) -> dict:
    _django(args.database, args.broker)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench.generate import build_clinic

    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    clinic = build_clinic(
        patients=args.size, scenario=args.scenario, outbox=args.scenario == "normal", diary_exclusion=False
    )
    seconds = time.perf_counter() - started
    if args.scenario == "normal":
        # Yesterday's review sweep: on a normal day the flags of earlier days are there already.
        from cycles.review import responses_sweep

        responses_sweep(now=timezone.now() - timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the statistics autovacuum would gather soon after a bulk load
    clinic.pop("locations")
    return {**clinic, "seconds": seconds, "peak_rss_mb": _rss_mb()}


def child_job(args) -> dict:
    _django(args.database, args.broker)
    from django.db import connection

    from clinic.celery import app as celery_app
    from clinic.celery import worker_ready
    from cycles.planner import CHUNK_SIZE as PLAN_CHUNK
    from cycles.planner import plan_sweep
    from cycles.review import CHUNK_SIZE as REVIEW_CHUNK
    from cycles.review import responses_sweep
    from notifications.services import notifications_queue

    celery_app.conf.task_always_eager = False
    worker_ready()  # the job runs as in a worker process (clinic/celery.py): its connections, its set-up frozen
    queries = 0

    slow = float(os.environ.get("BENCH_SLOW_QUERY", "inf"))  # seconds: print each query slower, to find them

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if time.perf_counter() - began > slow:
                print(f"# {time.perf_counter() - began:.2f} s: {sql[:3000]}", file=sys.stderr)

    run = {"planner": plan_sweep, "review": responses_sweep, "queue": notifications_queue}[args.job]
    connection.ensure_connection()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        outcome = run()
    seconds = time.perf_counter() - started
    if args.job == "planner":
        done = {str(k): v for k, v in outcome.items()}
        chunks = sum(done.values()) // PLAN_CHUNK + 1
    elif args.job == "review":
        done = outcome
        chunks = outcome["courses"] // REVIEW_CHUNK + 1
    else:
        done = vars(outcome)
        chunks = None
    return {"seconds": seconds, "queries": queries, "chunks": chunks, "done": done, "peak_rss_mb": _rss_mb()}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the driver ------------------------------------------------------------------------------------


def _psql(sql: str) -> None:
    subprocess.run(["psql", f"{SERVER}/postgres", "-qAtc", sql], check=True, capture_output=True)


def _drop(name: str) -> None:
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _child(*options: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *options], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench/sweeps.py {' '.join(options)} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def drive(args) -> dict:
    broker = tempfile.mkdtemp(prefix="cycledesk-sweeps-broker-")
    made: list[str] = []
    results: dict = {}
    try:
        for scenario in args.scenarios:
            for size in args.patients:
                template = f"{PREFIX}_tpl_{scenario}_{size}"
                _drop(template)
                _psql(f'CREATE DATABASE "{template}"')
                made.append(template)
                built = _child("--build", "--database", template, "--broker", broker, "--size", str(size),
                               "--scenario", scenario)  # fmt: skip
                print(f"# built {scenario} {size}: {built}", file=sys.stderr, flush=True)
                results[(scenario, size, "build")] = [built]
                for job in JOBS[scenario]:
                    runs = []
                    for _ in range(args.repeats):
                        copy = f"{PREFIX}_run"
                        _drop(copy)
                        _psql(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
                        made.append(copy)
                        try:
                            runs.append(_child("--job", job, "--database", copy, "--broker", broker))
                        finally:
                            _drop(copy)
                        shutil.rmtree(broker, ignore_errors=True)
                        os.makedirs(broker)
                        print(f"# {scenario} {size} {job}: {runs[-1]}", file=sys.stderr, flush=True)
                    results[(scenario, size, job)] = runs
                    if args.markdown:  # what is measured so far, should a later size not finish
                        write_section(args.markdown, markdown(results, args) + "\n")
                _drop(template)
    finally:
        for name in made:
            _drop(name)
        shutil.rmtree(broker, ignore_errors=True)
    return results


def _median(runs: list[dict], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def markdown(results: dict, args) -> str:
    days = " and ".join({"normal": "the normal day", "backfill": "the back-fill day"}[s] for s in args.scenarios)
    sizes = " and ".join(f"{size:,}" for size in args.patients)
    if args.scenarios == ["backfill"]:
        intro = [
            f"## Sweeps: {days}, {sizes} patients",
            "",
            "The same clinic and method as the normal day above, with every course's window open at once and "
            f"nothing booked (a day after an import): the planner's worst day. {_runs(args.repeats)}",
            "",
        ]
        return "\n".join(intro + _tables(results, args)) + "\n"
    lines = [
        f"## Sweeps: {days}, {sizes} patients",
        "",
        "The daily jobs over a synthetic clinic (bench/generate.py, built by COPY a chunk of 2,000 patients at a "
        "time, the clinic scaled with its patients: 20 half-hour slots a weekday per clinician, eight clinicians a "
        "location, four zones). The *normal* day: 1 course in 84 falls due and the planner books it, the review "
        "sweep reads every course, the queue job makes and enqueues that day's reminders and diary requests over an "
        "outbox in its steady state. The *back-fill* day: every course's window open at once, nothing booked. Each "
        f"repeat runs on a fresh copy of the database (`CREATE DATABASE … TEMPLATE`) in its own process: seconds "
        f"and queries are medians of {args.repeats}, peak RSS is the process's `ru_maxrss` (Django loaded "
        "included); queries per chunk are the chunk's pinned count (tests/test_jobs.py). Targets at 100,000 "
        "patients: each normal-day job < 30 s, RSS < 300 MB.",
        "",
    ]
    return "\n".join(lines + _tables(results, args))


def _runs(repeats: int) -> str:
    return f"Medians of {repeats} runs." if repeats > 1 else "One run (bench/all.py runs this size once: it is long)."


def _tables(results: dict, args) -> list[str]:
    lines: list[str] = []
    for scenario in args.scenarios:
        lines += [
            f"**{'Normal day' if scenario == 'normal' else 'Back-fill day'}**",
            "",
            "| patients | job | seconds | queries | chunks | peak RSS MB | work done |",
            "|---:|---|---:|---:|---:|---:|---|",
        ]
        for size in args.patients:
            if (scenario, size, "build") not in results:
                continue
            build = results[(scenario, size, "build")][0]
            lines.append(
                f"| {size:,} | build (generate.py: {build['sessions']:,} sessions, {build['diary_entries']:,} diary "
                f"entries, {build['notifications']:,} notifications) | {build['seconds']:.1f} | – | – | "
                f"{build['peak_rss_mb']:.0f} | – |"
            )
            for job in JOBS[scenario]:
                runs = results.get((scenario, size, job))
                if not runs:
                    continue
                done = ", ".join(f"{k} {v:,}" for k, v in runs[0]["done"].items() if v)
                chunks = runs[0]["chunks"]
                lines.append(
                    f"| {size:,} | {LABELS[job]} | {_median(runs, 'seconds'):.1f} | {_median(runs, 'queries'):.0f} | "
                    f"{chunks if chunks is not None else '–'} | {max(r['peak_rss_mb'] for r in runs):.0f} | {done} |"
                )
        lines.append("")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--patients", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--scenarios", nargs="+", choices=list(JOBS), default=list(JOBS))
    # The child processes' options.
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--job", choices=list(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--broker", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=list(JOBS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(child_build(args)))
        return 0
    if args.job:
        print(json.dumps(child_job(args)))
        return 0
    results = drive(args)
    text = markdown(results, args)
    print(text)
    write_section(args.markdown, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

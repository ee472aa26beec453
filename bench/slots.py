"""Free slots for one location over 31 days with 1,000,000 sessions in the database (issue 16, item 2).

    .venv/bin/python bench/slots.py                       # 1,000,000 sessions, 3 repeats
    .venv/bin/python bench/slots.py --sessions 100000 --repeats 1
    .venv/bin/python bench/slots.py --repeats 3 --markdown var/bench/slots.md
    .venv/bin/python bench/slots.py --keep ; .venv/bin/python bench/slots.py --reuse --keep   # build once

A PostgreSQL database of its own (made here, dropped at the end) holds --locations locations of ten clinicians
each, every clinician working 08:00–18:00 on weekdays, and --sessions half-hour sessions written by one
INSERT … SELECT over generate_series: each clinician's sessions fill 20 slots a day on days spread over the
year before today and the weeks after it (completed before now, booked after), each patient's never
overlapping, so both exclusion constraints hold. The measuring process is set up as a web worker is, by
importing clinic/wsgi.py (which freezes what set-up made out of the collector's sight; --plain-setup: not).
Then `scheduling.selectors.free_slots_for` is called for one location over 31 days --calls times per repeat
(after one warm-up call), timing each call and counting its queries (`connection.execute_wrapper`); p50 and
p95 are over a repeat's calls, the table shows the medians of the repeats. The busy-session query is then
run under EXPLAIN (ANALYZE, BUFFERS) for a 31-day and a 7-day window: the plan must read the session table
through an index on `start` and the rows and pages it reads must follow the window, not the table.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import write_section  # noqa: E402  (the project root is on the path now)

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_SLOTS_DB", "cd_sweep_slots")
CLINICIANS_PER_LOCATION = 10
SLOTS_PER_DAY = 20


def _psql(sql: str) -> None:
    subprocess.run(["psql", f"{SERVER}/postgres", "-qAtc", sql], check=True, capture_output=True)


def _database_exists() -> bool:
    out = subprocess.run(
        ["psql", f"{SERVER}/postgres", "-qAtc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip() == "1"


def build(sessions: int, locations: int) -> dict:
    """The clinic and its sessions, in a few set-based statements."""
    from django.db import connection

    from scheduling.models import Clinician, Location, WorkingHours

    zones = ("America/New_York", "Europe/London", "America/Los_Angeles", "America/Chicago")
    made = [Location.objects.create(name=f"Slots {k:03d}", time_zone=zones[k % len(zones)]) for k in range(locations)]
    clinicians = []
    for location in made:
        for index in range(CLINICIANS_PER_LOCATION):
            clinician = Clinician.objects.create(name=f"Dr Slots {location.name} {index}")
            clinician.locations.add(location)
            clinicians.append((clinician.pk, location.pk))
    WorkingHours.objects.bulk_create(
        WorkingHours(clinician_id=c, location_id=loc, weekday=day, start_time="08:00", end_time="18:00")
        for c, loc in clinicians
        for day in range(5)
    )
    per_clinician = -(-sessions // len(clinicians))
    days = -(-per_clinician // SLOTS_PER_DAY)
    # Days spread evenly from a year ago to six weeks on: history mostly, the window's share realistic.
    span = 365 + 42
    patients_per_clinician = 100
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_clinician (n int, clinician_id uuid, location_id uuid)")
        cursor.executemany(
            "INSERT INTO bench_clinician VALUES (%s, %s, %s)", [(n, c, loc) for n, (c, loc) in enumerate(clinicians)]
        )
        cursor.execute(
            """
            INSERT INTO patients_patient (id, mrn, given_name, family_name, date_of_birth, email, phone, time_zone,
                email_opt_in, sms_opt_in, status, created_at, updated_at)
            SELECT md5('p' || p)::uuid, 'SLOTS' || lpad(p::text, 8, '0'), 'Slots', 'Patient' || p, DATE '1970-01-01',
                'slots' || p || '@example.com', '', 'UTC', true, false, 'active', now(), now()
            FROM generate_series(0, %s - 1) p
            """,
            [len(clinicians) * patients_per_clinician],
        )
        # Bulk-loaded without the exclusion constraints, which are added back after (checking every row), as
        # bench/generate.py does: a GiST index grown a row at a time would take most of an hour here.
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'x' AND conrelid = 'scheduling_session'::regclass"
        )
        exclusions = cursor.fetchall()
        for name, _ in exclusions:
            cursor.execute(f'ALTER TABLE scheduling_session DROP CONSTRAINT "{name}"')
        # Session k of clinician n: day k / 20 of `days` spread over the span, slot k % 20 from 08:00 UTC.
        # Patient: one of the clinician's own hundred, so no patient has two sessions at once.
        cursor.execute(
            """
            INSERT INTO scheduling_session (id, patient_id, course_id, clinician_id, location_id, kind, start, "end",
                status, cycle_number, auto_booked, late, override_reason, cancel_reason, notes, booked_by_id,
                created_at, updated_at, confirmed_at, checked_in_at, completed_at, cancelled_at)
            SELECT gen_random_uuid(), md5('p' || (c.n * %(pp)s + k %% %(pp)s))::uuid, NULL, c.clinician_id,
                c.location_id, 'consultation', s.start, s.start + interval '30 minutes',
                CASE WHEN s.start < now() THEN 'completed' ELSE 'booked' END, NULL, false, false, '', '', '', NULL,
                now(), now(), NULL, NULL, NULL, NULL
            FROM bench_clinician c
            CROSS JOIN generate_series(0, %(per)s - 1) k
            CROSS JOIN LATERAL (
                SELECT date_trunc('day', now()) - interval '365 days'
                    + make_interval(days => ((k / %(slots)s) * %(span)s) / %(days)s)
                    + interval '8 hours' + make_interval(mins => 30 * (k %% %(slots)s)) AS start
            ) s
            WHERE c.n * %(per)s + k < %(total)s
            """,
            {"pp": patients_per_clinician, "per": per_clinician, "slots": SLOTS_PER_DAY, "span": span,
             "days": days, "total": sessions},
        )  # fmt: skip
        for name, definition in exclusions:
            cursor.execute(f'ALTER TABLE scheduling_session ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SELECT count(*) FROM scheduling_session")
        (count,) = cursor.fetchone()
    return {"locations": made, "sessions": count}


def measure(location, calls: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from scheduling.selectors import free_slots_for

    today = timezone.now().astimezone(location.zone).date()
    window = {"start_date": today, "end_date": today + timedelta(days=30)}
    free_slots_for(location=location, **window)  # warm-up: imports, the policy's cache
    timings, queries = [], []
    for _ in range(calls):
        count = 0

        def counted(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(counted):
            found = free_slots_for(location=location, **window)
        timings.append((time.perf_counter() - started) * 1000)
        queries.append(count)
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))],
        "queries": sorted(set(queries)),
        "slots": len(found),
    }


def explain(location, days: int) -> dict:
    """The busy-session query of `availability` for `days` days, under EXPLAIN (ANALYZE, BUFFERS)."""
    from django.db import connection
    from django.utils import timezone

    from clinic.timezones import day_bounds
    from scheduling.selectors import free_slots_for

    today = timezone.now().astimezone(location.zone).date()
    captured = []

    def capture(execute, sql, params, many, context):
        if '"scheduling_session"' in sql and "FROM" in sql:
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        free_slots_for(location=location, start_date=today, end_date=today + timedelta(days=days - 1))
    (sql, params), *_ = captured
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
    scans = []

    def walk(node):
        if "Relation Name" in node or "Index Name" in node:
            scans.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'scheduling_session'")
        session_indexes = {name for (name,) in cursor.fetchall()}
    session_scans = [
        n for n in scans if n.get("Relation Name") == "scheduling_session" or n.get("Index Name") in session_indexes
    ]
    first, _ = day_bounds(today, location.zone)
    return {
        "days": days,
        "nodes": sorted(
            {n["Node Type"] + (f" on {n['Index Name']}" if n.get("Index Name") else "") for n in session_scans}
        ),
        "index_cond": [n.get("Index Cond", "") for n in session_scans],
        # The rows the scans of the session table return (a bitmap scan counts its index's and heap's).
        "rows": max(n.get("Actual Rows", 0) * n.get("Actual Loops", 1) for n in session_scans),
        "buffers": plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0),
        "ms": plan.get("Execution Time"),
        "from": first.isoformat(),
    }


def child(args) -> dict:
    os.environ.update(DJANGO_SETTINGS_MODULE="clinic.settings", DATABASE_URL=f"{SERVER}/{DATABASE}",
                      AXES_ENABLED="0", LOG_LEVEL="ERROR")  # fmt: skip
    if args.plain_setup:
        import django

        django.setup()
    else:
        import clinic.wsgi  # noqa: F401  set up as a web worker is, its gc.freeze included

    from django.core.management import call_command
    from django.db import connection

    from scheduling.models import Location, Session

    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    if args.reuse and Location.objects.filter(name__startswith="Slots ").exists():
        # A database kept by an earlier --keep run: measure it as built (the build is minutes at 1M sessions).
        built = {"locations": list(Location.objects.order_by("name")), "sessions": Session.objects.count()}
    else:
        built = build(args.sessions, args.locations)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    build_seconds = time.perf_counter() - started
    location = built["locations"][0]
    runs = [measure(location, args.calls) for _ in range(args.repeats)]
    return {
        "sessions": built["sessions"],
        "locations": len(built["locations"]),
        "build_seconds": build_seconds,
        "runs": runs,
        "explain": [explain(location, 31), explain(location, 7)],
    }


def markdown(result: dict, args) -> str:
    runs = result["runs"]
    p50 = statistics.median(r["p50_ms"] for r in runs)
    p95 = statistics.median(r["p95_ms"] for r in runs)
    queries = sorted({q for r in runs for q in r["queries"]})
    lines = [
        "## Free slots at 1,000,000 sessions",
        "",
        f"`scheduling.selectors.free_slots_for` for one location over 31 days, with {result['sessions']:,} "
        f"sessions in the database ({result['locations']} locations of {CLINICIANS_PER_LOCATION} clinicians, "
        "their sessions spread over the past year and the next six weeks), called "
        f"{args.calls} times per repeat in one process on PostgreSQL; p50 and p95 of a repeat's calls, medians of "
        f"{len(runs)} repeats; queries counted per call. Target: p95 ≤ 50 ms, a fixed number of queries. Below it, "
        "the busy-session query under EXPLAIN (ANALYZE, BUFFERS) for 31 and 7 days: the index on `start` bounds "
        "it, so the rows and pages read follow the window, not the table.",
        "",
        "| figure | value | target |",
        "|---|---:|---:|",
        f"| p50 per call | {p50:.1f} ms | – |",
        f"| p95 per call | {p95:.1f} ms | ≤ 50 ms |",
        f"| queries per call | {', '.join(map(str, queries))} | fixed |",
        f"| free slots found | {runs[0]['slots']:,} | – |",
        "",
        "| busy-session query | plan on scheduling_session | index condition | rows read | pages | ms |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in result["explain"]:
        cond = "; ".join(c for c in row["index_cond"] if c).replace("|", "\\|")
        cond = re.sub(r"'\{[0-9a-f,-]+\}'", lambda m: f"'{{{m.group(0).count(',') + 1} ids}}'", cond)
        lines.append(
            f"| {row['days']} days | {', '.join(row['nodes'])} | `{cond}` | {row['rows']:,} | {row['buffers']:,} | "
            f"{row['ms']:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--calls", type=int, default=40, help="calls per repeat")
    parser.add_argument("--keep", action="store_true", help="leave the database in place for a later --reuse")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --keep run left, if any")
    parser.add_argument("--plain-setup", action="store_true", help="django.setup() alone, not clinic.wsgi")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args), default=str))
        return 0
    try:
        if not args.reuse:
            _psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if not _database_exists():
            _psql(f'CREATE DATABASE "{DATABASE}"')
        options = ["--sessions", str(args.sessions), "--locations", str(args.locations), "--calls", str(args.calls)]
        options += ["--reuse"] if args.reuse else []
        options += ["--plain-setup"] if args.plain_setup else []
        out = subprocess.run([sys.executable, __file__, "--child", "--repeats", str(args.repeats), *options],
                             cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        if out.returncode != 0:
            print(out.stderr[-4000:], file=sys.stderr)
            return 1
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            _psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    print(f"# built {result['sessions']:,} sessions in {result['build_seconds']:.1f} s", file=sys.stderr)
    text = markdown(result, args)
    print(text)
    write_section(args.markdown, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Bench: the week view of a location with 20 clinicians and a full week, rendered server-side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cycledesk_bench \
        .venv/bin/python bench/week_view.py --per-day 3 30 320

Empties the database, builds one location (New York) with 20 clinicians working
09:00–17:00 every day, books `per-day` sessions on each day of next week (320 is
every slot: 20 clinicians × 16 half-hours), then GETs /week/ through Django's test
client as a logged-in front desk user: the whole request (middleware, views,
selectors, free-slot search, template, audit INSERT). Prints the median and worst of
`--runs` renders and the queries per render, as a Markdown table (docs/PERFORMANCE.md).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("AXES_ENABLED", "0")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from clinic.roles import FRONT_DESK, ensure_groups  # noqa: E402
from clinic.timezones import local_datetime  # noqa: E402
from cycles.models import Protocol  # noqa: E402
from patients.models import Patient  # noqa: E402
from scheduling.models import Clinician, Location, Session, WorkingHours  # noqa: E402


def build(per_day: int, monday: date) -> Location:
    call_command("flush", interactive=False, verbosity=0)
    Protocol.default()
    location = Location.objects.create(name="Midtown", time_zone="America/New_York")
    clinicians = [Clinician.objects.create(name=f"Dr {i:02d}") for i in range(20)]
    for c in clinicians:
        c.locations.add(location)
    WorkingHours.objects.bulk_create(
        WorkingHours(clinician=c, location=location, weekday=d, start_time=clock(9), end_time=clock(17))
        for c in clinicians
        for d in range(7)
    )
    patients = Patient.objects.bulk_create(
        Patient(mrn=f"W{i:06d}", given_name="Pat", family_name=f"Week{i}", date_of_birth=date(1970, 1, 1))
        for i in range(per_day * 7)
    )
    sessions = []
    for day in range(7):
        for i in range(per_day):
            start = local_datetime(monday + timedelta(days=day), clock(9), location.zone) + timedelta(
                minutes=30 * (i // 20)
            )
            sessions.append(
                Session(
                    patient=patients[day * per_day + i],
                    clinician=clinicians[i % 20],
                    location=location,
                    kind="treatment",
                    start=start,
                    end=start + timedelta(minutes=30),
                )
            )
    Session.objects.bulk_create(sessions)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return location


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-day", type=int, nargs="+", default=[3, 30, 320])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    settings.ALLOWED_HOSTS = ["testserver"]
    today = datetime.now().date()  # noqa: DTZ005  (only to pick next week)
    monday = today + timedelta(days=7 - today.weekday())
    print(f"| sessions per day | sessions in the week | median ms | worst ms | queries | ({connection.vendor}) |")
    print("|---|---|---|---|---|---|")
    for per_day in args.per_day:
        location = build(per_day, monday)
        ensure_groups()
        from tests.factories import UserFactory

        client = Client()
        client.force_login(UserFactory(username=f"bench{per_day}", role=FRONT_DESK))
        url = f"/week/?location={location.id}&date={monday.isoformat()}"
        assert client.get(url).status_code == 200  # warm up
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"| {per_day} | {per_day * 7} | {statistics.median(times):.0f} | {max(times):.0f} | {len(queries)} | |")


if __name__ == "__main__":
    main()

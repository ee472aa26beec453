"""Synthetic clinic for benchmarks: N patients, each on a course with treatment history and a diary.

Rows are written with bulk_create, a few thousand at a time, so a 10 000-patient
clinic builds in seconds. Every patient gets three completed treatments 84 days
apart, the last one 60 days ago or earlier (so a good share is due), and a
28-day diary from 90 days before the first treatment until yesterday.
Completed sessions never overlap, so the exclusion constraints accept them.
"""

import random
from datetime import UTC, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from patients.models import DiaryEntry, Patient
from scheduling.models import Clinician, Course, Location, Protocol, Session, TreatmentRecord, WorkingHours

BATCH = 2000
ZONES = ("America/New_York", "Europe/London")


def _bulk(model, rows):
    model.objects.bulk_create(rows, batch_size=BATCH)


@transaction.atomic
def build_clinic(*, patients: int, clinicians_per_location: int = 8, seed: int = 7) -> dict:
    rng = random.Random(seed)
    protocol = Protocol.active()
    now = timezone.now()
    injector_user = get_user_model().objects.get_or_create(username="bench-clinician")[0]
    locations = [Location.objects.create(name=f"Bench {zone}", time_zone=zone) for zone in ZONES]
    clinicians = []
    for location in locations:
        for index in range(clinicians_per_location):
            clinician = Clinician.objects.create(name=f"Dr Bench {location.time_zone} {index}")
            clinician.locations.add(location)
            clinicians.append((clinician, location))
    _bulk(
        WorkingHours,
        [
            WorkingHours(clinician=c, location=loc, weekday=day, start_time=time(8), end_time=time(18))
            for c, loc in clinicians
            for day in range(5)
        ],
    )

    patient_rows = [
        Patient(
            mrn=f"BENCH{i:07d}",
            given_name="Bench",
            family_name=f"Patient{i}",
            date_of_birth=datetime(1970, 1, 1, tzinfo=UTC).date() + timedelta(days=i % 9000),
            email=f"bench{i}@example.com",
            phone=f"+1212{i % 10_000_000:07d}",
            time_zone=ZONES[i % 2],
            sms_opt_in=True,
        )
        for i in range(patients)
    ]
    _bulk(Patient, patient_rows)
    course_rows = [Course(patient=p, protocol=protocol) for p in patient_rows]
    _bulk(Course, course_rows)

    sessions, diary = [], []
    for i, (patient, course) in enumerate(zip(patient_rows, course_rows, strict=True)):
        clinician, location = clinicians[i % len(clinicians)]
        # 7 minutes apart per patient and 5 minutes long: no two sessions overlap (up to ~17 000 patients,
        # where one patient's earlier treatment would reach another's later one).
        last = now.replace(second=0, microsecond=0) - timedelta(days=60, minutes=7 * i)
        for cycle, start in enumerate((last - timedelta(days=168), last - timedelta(days=84), last), start=1):
            sessions.append(
                Session(
                    patient=patient,
                    course=course,
                    clinician=clinician,
                    location=location,
                    kind=Session.Kind.TREATMENT,
                    start=start,
                    end=start + timedelta(minutes=5),
                    status=Session.Status.COMPLETED,
                    cycle_number=cycle,
                    completed_at=start,
                )
            )
        first_treated = (last - timedelta(days=168)).date()
        first_day = first_treated - timedelta(days=90)
        baseline = rng.randint(15, 24)
        day = first_day
        while day + timedelta(days=27) < now.date():
            headache = max(0, baseline - rng.randint(0, 12)) if day > first_treated else baseline
            diary.append(
                DiaryEntry(
                    patient=patient,
                    period_start=day,
                    period_end=day + timedelta(days=27),
                    headache_days=headache,
                    migraine_days=headache // 2,
                    source=DiaryEntry.Source.IMPORT,
                )
            )
            day += timedelta(days=28)
    _bulk(Session, sessions)
    _bulk(
        TreatmentRecord,
        [
            TreatmentRecord(
                session=s,
                units_by_muscle=dict(TreatmentRecord.STANDARD_UNITS),
                sites=31,
                total_units=155,
                lot_number="BENCH1",
                lot_expiry=s.start.date() + timedelta(days=365),
                injector=s.clinician,
                recorded_by=injector_user,
            )
            for s in sessions
        ],
    )
    _bulk(DiaryEntry, diary)
    return {"patients": patients, "sessions": len(sessions), "diary_entries": len(diary), "locations": locations}

"""Synthetic clinic for benchmarks: N patients, each on a course with treatment history and a diary.

Rows are written with bulk_create, a few thousand at a time, so a 10 000-patient
clinic builds in seconds. Two locations (New York, London), 8 clinicians each,
working 08:00-18:00 local on weekdays. Every patient gets three completed
treatments 84 days apart on a real 30-minute slot of their clinician (the last
one on a weekday 60 days ago or earlier, so every course has its next window
open), and a 28-day diary from 90 days before the first treatment until
yesterday. One clinician per location is on leave for the next 120 days, so
their patients' targets are refused and the planner falls back to the slot
search, as in a real clinic. Sessions never overlap, so the exclusion
constraints accept them.
"""

import random
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clinic.timezones import local_datetime
from cycles.models import Course, Protocol, TreatmentRecord
from patients.models import DiaryEntry, Patient
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours

BATCH = 2000
ZONES = ("America/New_York", "Europe/London")
OPENS, CLOSES = time(8), time(18)


def _weekdays_back(anchor: date, count: int) -> list[date]:
    days, day = [], anchor
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


def _bulk(model, rows):
    model.objects.bulk_create(rows, batch_size=BATCH)


def _spread_places(patients: int, clinicians: int, per_day: int, now: datetime) -> list[tuple[int, date, int]]:
    """(clinician index, day, slot of the day) of each patient's last treatment, spread over the 12 weeks
    before yesterday, as in a clinic in its steady state: each weekday about as many patients."""
    days = _weekdays_back(now.date() - timedelta(days=1), 59)  # 84 days hold 60 weekdays
    places = []
    for i in range(patients):
        order = i // len(days)
        if order >= clinicians * per_day:
            raise ValueError(f"{patients} patients do not fit one 12-week cycle of {clinicians} clinicians")
        places.append((order % clinicians, days[i % len(days)], order // clinicians))
    return places


@transaction.atomic
def build_clinic(
    *, patients: int, clinicians_per_location: int = 8, seed: int = 7, spread_over_cycle: bool = False
) -> dict:
    """The synthetic clinic. `spread_over_cycle`: the last treatments fall on every weekday of the 12 weeks
    before yesterday (a clinic in its steady state, as the slot-offer simulation needs) instead of on a
    few weekdays 60 days ago or earlier (every course's window open at once: the planner's worst day)."""
    rng = random.Random(seed)
    protocol = Protocol.default()
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
            WorkingHours(clinician=c, location=loc, weekday=day, start_time=OPENS, end_time=CLOSES)
            for c, loc in clinicians
            for day in range(5)
        ],
    )
    _bulk(
        TimeOff,
        [
            TimeOff(clinician=c, start=now, end=now + timedelta(days=120), reason="leave")
            for c, _ in clinicians[::clinicians_per_location]
        ],
    )
    # Patient i sits on slot k % per_day of weekday k // per_day of clinician i % len(clinicians).
    per_day = (CLOSES.hour - OPENS.hour) * 60 // protocol.session_minutes
    length = timedelta(minutes=protocol.session_minutes)
    days = _weekdays_back(now.date() - timedelta(days=60), patients // (len(clinicians) * per_day) + 1)
    if (days[0] - days[-1]).days >= 84:
        raise ValueError(f"{patients} patients do not fit one 12-week cycle of {len(clinicians)} clinicians")

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

    spread = _spread_places(patients, len(clinicians), per_day, now) if spread_over_cycle else None
    sessions, diary = [], []
    for i, (patient, course) in enumerate(zip(patient_rows, course_rows, strict=True)):
        if spread:
            index, last_day, slot = spread[i]
            clinician, location = clinicians[index]
        else:
            clinician, location = clinicians[i % len(clinicians)]
            k = i // len(clinicians)
            last_day, slot = days[k // per_day], k % per_day
        at = (datetime.combine(date.min, OPENS) + length * slot).time()
        for cycle, weeks_before in enumerate((24, 12, 0), start=1):
            start = local_datetime(last_day - timedelta(weeks=weeks_before), at, location.zone).astimezone(UTC)
            sessions.append(
                Session(
                    patient=patient,
                    course=course,
                    clinician=clinician,
                    location=location,
                    kind=Session.Kind.TREATMENT,
                    start=start,
                    end=start + length,
                    status=Session.Status.COMPLETED,
                    cycle_number=cycle,
                    completed_at=start,
                )
            )
        first_treated = last_day - timedelta(weeks=24)
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

"""Synthetic clinic for benchmarks: N patients, each on a course with treatment history and a diary.

The clinic grows with its patients: clinicians get 20 half-hour slots a weekday
(08:00–18:00 local) and as many clinicians as the patients need, eight to a
location, the locations spread over four zones (New York, London, Los Angeles,
Chicago). One clinician per location is on leave for the next 120 days, so their
patients' targets are refused and the planner falls back to the slot search, as
in a real clinic. Every patient gets `history_cycles` completed treatments 84
days apart on a real slot of their clinician, and a 28-day diary from 90 days
before the first treatment until yesterday. Sessions never overlap, so the
exclusion constraints accept them.

Two days to measure:

- `backfill`: every last treatment 60 or more days ago and nothing booked, so every
  course's window is open at once (the worst day the planner can meet, after an
  import);
- `normal`: the last treatments spread over the past 12 weeks and the next one of
  each already booked 84 days on, except for 1 course in `DUE_EVERY` (84): the
  planner's ordinary day, the courses falling due that day. With `outbox=True`
  the outbox is in its steady state too: each booked session has its reminders
  (sent once due, pending after; those that fell due in the last day are pending
  and not yet enqueued, the queue job's work of the day), and each patient had a
  diary request within the last 28 days, except 1 in 28 (whose turn is today).

Rows are written a chunk of patients at a time and dropped, so memory stays flat
whatever the size; on PostgreSQL, COPY writes them (psycopg's `cursor.copy`).
"""

import math
import random
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone
from psycopg.types.json import Jsonb

from clinic.timezones import local_datetime
from cycles.models import Course, Protocol, TreatmentRecord
from notifications.models import Notification, ReminderPolicy
from notifications.services.outbox import key, stamp
from patients.models import DiaryEntry, Patient
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours

CHUNK = 2000  # patients written at a time
ZONES = ("America/New_York", "Europe/London", "America/Los_Angeles", "America/Chicago")
OPENS, CLOSES = time(8), time(18)
SLOTS_PER_DAY = 20
INTERVAL = timedelta(days=84)
DUE_EVERY = 84  # on a normal day, one course in 84 falls due (a 12-week cycle, one day's worth)
DIARY_EVERY = 28


def _weekdays_back(anchor: date, count: int) -> list[date]:
    days, day = [], anchor
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


class _Writer:
    """Bulk rows by table, each row a dict of column values: COPY on PostgreSQL (psycopg adapts the values in
    C, no model instances), bulk_create elsewhere."""

    def write(self, model, rows: list[dict]) -> None:
        if not rows:
            return
        if connection.vendor != "postgresql":
            model.objects.bulk_create((model(**row) for row in rows), batch_size=500)
            return
        fields = {f.attname: f for f in model._meta.concrete_fields}
        # Columns the rows leave out take the model's default (COPY knows no Django defaults).
        defaults = {name: f.get_default() for name, f in fields.items() if name not in rows[0]}
        columns = [*rows[0], *defaults]
        rows = ({**row, **defaults} for row in rows) if defaults else rows
        json_columns = {c for c in columns if isinstance(fields[c], JSONField)}
        names = ", ".join(connection.ops.quote_name(fields[c].column) for c in columns)
        with connection.cursor() as cursor, cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([Jsonb(row[c]) if c in json_columns else row[c] for c in columns])


def clinic_size(patients: int, *, clinicians_per_location: int = 8, scenario: str = "backfill") -> tuple[int, int]:
    """(locations, clinicians) for the patients: a back-fill packs the last treatments into 40 weekdays
    (so every window is open on the day measured), a normal day spreads them over the 60 weekdays of 12 weeks."""
    weekdays = 40 if scenario == "backfill" else 60
    clinicians = max(clinicians_per_location * 2, math.ceil(patients / (SLOTS_PER_DAY * weekdays)))
    locations = math.ceil(clinicians / clinicians_per_location)
    return locations, locations * clinicians_per_location


@transaction.atomic
def build_clinic(
    *,
    patients: int,
    clinicians_per_location: int = 8,
    seed: int = 7,
    scenario: str = "backfill",
    history_cycles: int = 3,
    spread_over_cycle: bool = False,
    outbox: bool = False,
    diary_exclusion: bool = True,
) -> dict:
    """The synthetic clinic (module docstring). `spread_over_cycle` is the `normal` day's spread of last
    treatments over the 12 weeks before yesterday (a clinic in its steady state, the slot-offer simulation's).
    `outbox`: the outbox's steady state (module docstring). `diary_exclusion=False` leaves the diary's
    no-overlap constraint off on PostgreSQL (for a benchmark of jobs that write no diary entry): its GiST index
    leads with the period, so each row's check reads every overlapping period of every patient and adding it
    back over 20,000 patients takes minutes, growing with the square of the patients."""
    if spread_over_cycle:
        scenario = "normal"
    if scenario not in ("backfill", "normal"):
        raise ValueError("scenario is backfill or normal")
    rng = random.Random(seed)
    protocol = Protocol.default()
    now = timezone.now()
    today = now.date()
    writer = _Writer()
    injector_user = get_user_model().objects.get_or_create(username="bench-clinician")[0]
    n_locations, _ = clinic_size(patients, clinicians_per_location=clinicians_per_location, scenario=scenario)
    locations = [
        Location.objects.create(name=f"Bench {k:03d} {ZONES[k % len(ZONES)]}", time_zone=ZONES[k % len(ZONES)])
        for k in range(n_locations)
    ]
    clinicians = []
    for location in locations:
        for index in range(clinicians_per_location):
            clinician = Clinician.objects.create(name=f"Dr Bench {location.name} {index}")
            clinician.locations.add(location)
            clinicians.append((clinician, location))
    WorkingHours.objects.bulk_create(
        WorkingHours(clinician=c, location=loc, weekday=day, start_time=OPENS, end_time=CLOSES)
        for c, loc in clinicians
        for day in range(5)
    )
    TimeOff.objects.bulk_create(
        TimeOff(clinician=c, start=now, end=now + timedelta(days=120), reason="leave")
        for c, _ in clinicians[::clinicians_per_location]
    )
    length = timedelta(minutes=protocol.session_minutes)
    if scenario == "backfill":
        days = _weekdays_back(today - timedelta(days=60), 40)
    else:
        days = _weekdays_back(today - timedelta(days=1), 60)  # the 12 weeks before today
    capacity = len(days) * SLOTS_PER_DAY * len(clinicians)
    if patients > capacity:
        raise ValueError(f"{patients} patients do not fit {len(days)} weekdays of {len(clinicians)} clinicians")

    counts = {"sessions": 0, "booked": 0, "diary_entries": 0, "notifications": 0}
    offsets = ReminderPolicy.current().offsets() if outbox else []
    with _exclusions_rebuilt_after(
        Session, DiaryEntry, restore=(Session, DiaryEntry) if diary_exclusion else (Session,)
    ):
        _write_chunks(
            patients,
            rng=rng,
            protocol=protocol,
            clinicians=clinicians,
            days=days,
            length=length,
            today=today,
            scenario=scenario,
            history_cycles=history_cycles,
            injector_user=injector_user,
            writer=writer,
            counts=counts,
            offsets=offsets,
            outbox=outbox,
        )
    return {"patients": patients, "clinicians": len(clinicians), "locations": locations, **counts}


@contextmanager
def _exclusions_rebuilt_after(*models, restore):
    """On PostgreSQL, the tables' exclusion constraints (no overlapping sessions, diary periods) are dropped
    for the load and added back after it, the same definitions: a GiST index built once over the rows is many
    times faster than one grown a row at a time, and adding the constraint back checks every row again."""
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'x' AND conrelid::regclass::text = ANY(%s)",
            [tables],
        )
        exclusions = cursor.fetchall()
        for table, name, _ in exclusions:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign key checks first: ALTER waits for none
        for table, name, definition in exclusions:
            if table in {model._meta.db_table for model in restore}:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _write_chunks(patients: int, **options) -> None:
    for first in range(0, patients, CHUNK):
        _write_chunk(range(first, min(first + CHUNK, patients)), **options)


def _write_chunk(indexes, *, rng, protocol, clinicians, days, length, today, scenario, history_cycles, injector_user,
                 writer, counts, offsets, outbox) -> None:  # fmt: skip
    patient_rows, course_rows, sessions, records, diary, notifications = [], [], [], [], [], []
    now = timezone.now()
    for i in indexes:
        # Patient i sits on one slot of one weekday of one clinician: never two patients on one slot. The days
        # fill evenly (each weekday about as many last treatments), the slots of a day one after another.
        clinician, location = clinicians[i % len(clinicians)]
        k = i // len(clinicians)
        last_day = days[k % len(days)]
        at = (datetime.combine(date.min, OPENS) + length * (k // len(days))).time()
        patient = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "mrn": f"BENCH{i:07d}",
            "given_name": "Bench",
            "family_name": f"Patient{i}",
            "date_of_birth": date(1970, 1, 1) + timedelta(days=i % 9000),
            "email": f"bench{i}@example.com",
            "phone": f"+1212{i % 10_000_000:07d}",
            "time_zone": location.time_zone,
            "email_opt_in": True,
            "sms_opt_in": True,
            "status": Patient.Status.ACTIVE,
            "created_at": now,
            "updated_at": now,
        }
        course = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "patient_id": patient["id"],
            "protocol_id": protocol.pk,
            "status": Course.Status.ACTIVE,
            "created_at": now,
            "stopped_at": None,
        }
        patient_rows.append(patient)
        course_rows.append(course)
        for cycle in range(1, history_cycles + 1):
            start = local_datetime(last_day - INTERVAL * (history_cycles - cycle), at, location.zone).astimezone(UTC)
            session = _session(rng, patient, course, clinician, location, start, length, Session.Status.COMPLETED)
            session.update(cycle_number=cycle, completed_at=start, checked_in_at=start)
            sessions.append(session)
            records.append(
                {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "session_id": session["id"],
                    "units_by_muscle": dict(TreatmentRecord.STANDARD_UNITS),
                    "sites": 31,
                    "total_units": 155,
                    "units_wasted": 0,
                    "lot_number": "BENCH1",
                    "lot_expiry": start.date() + timedelta(days=365),
                    "vials": [],
                    "deviation_reason": "",
                    "injector_id": clinician.pk,
                    "notes": "",
                    "recorded_by_id": injector_user.pk,
                    "created_at": start,
                }
            )
        if scenario == "normal" and i % DUE_EVERY != 0:
            start = local_datetime(last_day + INTERVAL, at, location.zone).astimezone(UTC)
            booked = _session(rng, patient, course, clinician, location, start, length, Session.Status.BOOKED)
            booked["auto_booked"] = True
            sessions.append(booked)
            counts["booked"] += 1
            notifications += [_reminder(rng, booked, channel, days_before, now) for channel, days_before in offsets]
        if outbox and i % DIARY_EVERY != 0:
            sent = now - timedelta(days=i % DIARY_EVERY, hours=1)
            notifications.append(_diary_request(rng, patient, sent))
        first_treated = last_day - INTERVAL * (history_cycles - 1)
        baseline = rng.randint(15, 24)
        day = first_treated - timedelta(days=90)
        while day + timedelta(days=27) < today:
            headache = max(0, baseline - rng.randint(0, 12)) if day > first_treated else baseline
            diary.append(
                {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "patient_id": patient["id"],
                    "period_start": day,
                    "period_end": day + timedelta(days=27),
                    "headache_days": headache,
                    "migraine_days": headache // 2,
                    "acute_medication_days": 0,
                    "hit6": None,
                    "midas": None,
                    "source": DiaryEntry.Source.IMPORT,
                    "recorded_by_id": None,
                    "created_at": now,
                }
            )
            day += timedelta(days=28)
    writer.write(Patient, patient_rows)
    writer.write(Course, course_rows)
    writer.write(Session, sessions)
    writer.write(TreatmentRecord, records)
    writer.write(DiaryEntry, diary)
    writer.write(Notification, notifications)
    counts["notifications"] += len(notifications)
    counts["sessions"] += len(sessions)
    counts["diary_entries"] += len(diary)


def _session(rng, patient, course, clinician, location, start, length, status) -> dict:
    now = timezone.now()
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "patient_id": patient["id"],
        "course_id": course["id"],
        "clinician_id": clinician.pk,
        "location_id": location.pk,
        "kind": Session.Kind.TREATMENT,
        "start": start,
        "end": start + length,
        "status": status,
        "cycle_number": None,
        "auto_booked": False,
        "late": False,
        "override_reason": "",
        "cancel_reason": "",
        "notes": "",
        "booked_by_id": None,
        "created_at": now,
        "updated_at": now,
        "confirmed_at": None,
        "checked_in_at": None,
        "completed_at": None,
        "cancelled_at": None,
    }


def _notification(rng, **row) -> dict:
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "session_id": None,
        "course_id": None,
        "offset_days": 0,
        "session_start": None,
        "status": Notification.Status.PENDING,
        "skip_reason": "",
        "attempts": 0,
        "claimed_at": None,
        "enqueued_at": None,
        "sent_at": None,
        "provider_message_id": "",
        "last_error": "",
        **row,
    }


def _reminder(rng, session: dict, channel: str, days_before: int, now: datetime) -> dict:
    """A booked session's reminder as the outbox made it at booking: sent if it fell due before the last
    day, pending and not yet enqueued if within it (the day's work of the queue job), pending after."""
    due_at = session["start"] - timedelta(days=days_before)
    sent = due_at < now - timedelta(days=1)
    booked_at = session["start"] - INTERVAL
    return _notification(
        rng,
        patient_id=session["patient_id"],
        session_id=session["id"],
        course_id=session["course_id"],
        purpose=Notification.Purpose.REMINDER,
        channel=channel,
        offset_days=days_before,
        session_start=session["start"],
        due_at=due_at,
        dedupe_key=key(session["id"], Notification.Purpose.REMINDER, days_before, channel, stamp(session["start"])),
        status=Notification.Status.SENT if sent else Notification.Status.PENDING,
        attempts=1 if sent else 0,
        enqueued_at=due_at if sent else None,
        sent_at=due_at if sent else None,
        created_at=booked_at,
        updated_at=due_at if sent else booked_at,
    )


def _diary_request(rng, patient: dict, sent: datetime) -> dict:
    channel = Notification.Channel.EMAIL
    return _notification(
        rng,
        patient_id=patient["id"],
        purpose=Notification.Purpose.DIARY_REQUEST,
        channel=channel,
        due_at=sent,
        dedupe_key=key(Notification.Purpose.DIARY_REQUEST, patient["id"], sent.date().isoformat(), channel),
        status=Notification.Status.SENT,
        attempts=1,
        enqueued_at=sent,
        sent_at=sent,
        created_at=sent,
        updated_at=sent,
    )

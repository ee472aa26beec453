"""The calendar views, the patient page and the lists cost the same number of queries for 3 rows or hundreds."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import AuditLog
from patients.models import Patient
from scheduling.models import Session, WorkingHours
from tests.factories import (
    ClinicianFactory,
    CourseFactory,
    PatientFactory,
    ReviewFlagFactory,
    SessionFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)  # Monday 08:00 in New York
DAY_START = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)  # 09:00 local


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _fill_day(location, clinician, n: int, offset: int = 0) -> None:
    """n sessions on 1 March at the location, over three clinicians, each with its own patient."""
    others = [clinician, *(ClinicianFactory(locations=[location]) for _ in range(2))]
    for doctor in others[1:]:
        WorkingHoursFactory(clinician=doctor, location=location, weekday=0)
    for i in range(n):
        start = DAY_START + timedelta(minutes=30 * ((i + offset) // 3))
        SessionFactory(clinician=others[i % 3], location=location, start=start, end=start + timedelta(minutes=30))


def _fill_patient(patient, location, clinician, n: int) -> None:
    course = CourseFactory(patient=patient)
    for i in range(n):
        start = DAY_START + timedelta(days=7 * i - 70)
        SessionFactory(
            patient=patient,
            course=course,
            clinician=clinician,
            location=location,
            start=start,
            end=start + timedelta(minutes=30),
            status=Session.Status.COMPLETED if start < NOW else Session.Status.BOOKED,
        )


def _count(client, url: str) -> int:
    client.get(url)  # warm caches (content types, the protocol row)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _twenty_clinicians(location) -> list:
    """Twenty clinicians working 07:00-23:00 at the location every day: 32 half-hour slots each."""
    doctors = [ClinicianFactory(locations=[location]) for _ in range(20)]
    WorkingHours.objects.bulk_create(
        WorkingHours(clinician=d, location=location, weekday=w, start_time=time(7), end_time=time(23))
        for d in doctors
        for w in range(7)
    )
    return doctors


def _book_busy_day(location, doctors, day: int, n: int) -> None:
    """n sessions on day `day` of the week of 1 March from 07:00 local, slot by slot across the clinicians,
    each with its own patient; those before now are completed or no-shows, the later ones in every upcoming
    state (so every button of the day view shows)."""
    first = DAY_START - timedelta(hours=2) + timedelta(days=day)  # 07:00 in New York
    patients = Patient.objects.bulk_create(PatientFactory.build() for _ in range(n))
    statuses = ["booked", "confirmed", "checked_in", "booked"]
    sessions = []
    for i in range(n):
        start = first + timedelta(minutes=30 * (i // len(doctors)))
        status = ("completed" if i % 5 else "no_show") if start < NOW else statuses[i % len(statuses)]
        kind = ["treatment", "consultation", "review"][i % 3]
        sessions.append(
            Session(
                patient=patients[i],
                clinician=doctors[i % len(doctors)],
                location=location,
                kind=kind,
                status=status,
                start=start,
                end=start + timedelta(minutes=30),
            )
        )
    Session.objects.bulk_create(sessions)


@pytest.mark.parametrize("sessions", [3, 640])
@pytest.mark.parametrize("who", ["desk", "doctor"])
def test_the_day_view_of_twenty_clinicians_runs_a_fixed_number_of_queries(request, location, clinician, who, sessions):
    client = request.getfixturevalue(who)
    _book_busy_day(location, _twenty_clinicians(location), 0, sessions)
    url = f"/day/?location={location.id}&date=2027-03-01"
    client.get(url)
    # 1 session, 2 user, 3 roles (groups), 4 locations, 5 protocol, 6 clinicians at the location,
    # 7 their working hours, 8 sessions with patient and clinician, 9 time off, 10-12 the free-slot
    # search (working hours, time off, active sessions), 13 freed slots with their offer counts, 14 the
    # calendar's version for live refresh, 15-17 the session's idle clock saved (a savepoint: the test is a
    # transaction); and the audit rows, one per patient in one INSERT (SQLite's 999-parameter limit splits it
    # into batches; PostgreSQL takes them in one).
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    audit = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "clinic_auditlog"')]
    assert len(queries) - len(audit) == 17
    columns = [f for f in AuditLog._meta.concrete_fields if not f.primary_key]
    assert len(audit) == -(-sessions // connection.ops.bulk_batch_size(columns, [None] * sessions))
    html = response.content.decode()
    assert html.count('class="appt ') == sessions
    assert html.count("<tr><td>") == sessions  # the printed day list
    upcoming = Session.objects.filter(status__in=["booked", "confirmed"]).count()
    assert html.count(">Check in</button>") == upcoming  # all on the day shown
    assert html.count(">Move</a>") == upcoming
    if sessions == 640:
        started = Session.objects.filter(status__in=["booked", "confirmed"], start__lte=NOW).count()
        assert html.count(">No-show</button>") == started == 15  # the 08:00 ones, not yet checked in
        assert (">Record treatment</a>" in html) == (who == "doctor")


@pytest.mark.parametrize("sessions", [3, 30])
def test_the_patient_page_runs_a_fixed_number_of_queries(
    desk, location, clinician, sessions, django_assert_num_queries
):
    patient = PatientFactory()
    _fill_patient(patient, location, clinician, sessions)
    url = f"/patients/{patient.id}/"
    desk.get(url)
    # 1 session, 2 user, 3 roles (groups), 4 patient, 5 sessions with clinician and location,
    # 6 notifications, 7 the course with its protocol and treatment dates, 8 its prior authorisations with
    # their treatments, 9 slot offers with their slots, 10 audit row, 11-13 the session's idle clock saved
    # (savepoint, UPDATE, release)
    with django_assert_num_queries(13):
        response = desk.get(url)
    assert response.content.decode().count("data-session=") == sessions


def _fill_week(location, clinicians, per_day: int) -> None:
    """`per_day` sessions on each day of the week of 1 March, spread over the clinicians, half-hourly."""
    for day in range(7):
        for i in range(per_day):
            start = DAY_START + timedelta(days=day, minutes=30 * (i // len(clinicians)))
            doctor = clinicians[i % len(clinicians)]
            SessionFactory(clinician=doctor, location=location, start=start, end=start + timedelta(minutes=30))


@pytest.mark.parametrize("per_day", [3, 30])
def test_the_week_view_of_twenty_clinicians_runs_a_fixed_number_of_queries(desk, location, per_day):
    clinicians = [ClinicianFactory(locations=[location]) for _ in range(20)]
    for doctor in clinicians:
        for weekday in range(7):
            WorkingHoursFactory(clinician=doctor, location=location, weekday=weekday)
    _fill_week(location, clinicians, per_day)
    url = f"/week/?location={location.id}&date=2027-03-03"
    desk.get(url)
    # 1 session, 2 user, 3 roles, 4 locations, 5 protocol, 6 clinicians at the location, 7 their working
    # hours, 8 the week's sessions with patient and clinician, 9 time off, 10-12 the free-slot search
    # (working hours, time off, active sessions), 13 the calendar's version, 14-16 the session's idle
    # clock saved; and the audit rows, one per patient in one INSERT (SQLite's 999-parameter limit splits
    # it into batches; PostgreSQL takes them in one).
    with CaptureQueriesContext(connection) as queries:
        response = desk.get(url)
    audit = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "clinic_auditlog"')]
    assert len(queries) - len(audit) == 16
    columns = [f for f in AuditLog._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(columns, [None] * 7 * per_day)
    assert len(audit) == -(-7 * per_day // batch)
    html = response.content.decode()
    assert html.count("<li class=") == 7 * per_day
    # in the location's time (09:00 in New York), not the server's UTC (14:00)
    assert html.count('">09:00 <a href="/patients/') == 7 * min(per_day, 20)
    assert '">14:00 <a href="/patients/' not in html
    assert html.count('<th scope="col">') == 20


def test_query_counts_do_not_depend_on_the_number_of_sessions(desk, location, clinician):
    _fill_day(location, clinician, 3)
    small = _count(desk, f"/day/?location={location.id}&date=2027-03-01")
    _fill_day(location, clinician, 27, offset=3)
    assert _count(desk, f"/day/?location={location.id}&date=2027-03-01") == small


@pytest.mark.parametrize("flags", [3, 30])
def test_the_review_queue_runs_a_fixed_number_of_queries(doctor, flags, django_assert_num_queries):
    for _ in range(flags):
        ReviewFlagFactory(details={"reduction_pct": 12.0})
    doctor.get("/review/")
    # 1 session, 2 user, 3 roles, 4 locations and 5 clinicians (the filters), 6 open flags with patient
    # and their course's latest clinician and location, 7 audit rows, 8 open flags counted by kind,
    # 9-11 the session's idle clock saved
    with django_assert_num_queries(11):
        response = doctor.get("/review/")
    assert response.content.decode().count('class="queue-item" data-flag=') == flags


@pytest.mark.parametrize("due", [3, 30])
def test_the_due_list_runs_a_fixed_number_of_queries(desk, location, clinician, due, django_assert_num_queries):
    for i in range(due):
        start = DAY_START - timedelta(days=80) + timedelta(minutes=30 * i)
        SessionFactory(
            clinician=clinician,
            location=location,
            start=start,
            end=start + timedelta(minutes=30),
            status=Session.Status.COMPLETED,
        )
    desk.get("/due/")
    # 1 session, 2 user, 3 roles, 4 protocol, 5 location zones and 6 due courses with patient (the due
    # list's selector: local "today" per zone), 7 audit rows, 8-10 the session's idle clock saved
    with django_assert_num_queries(10):
        response = desk.get("/due/")
    assert response.content.decode().count('aria-label="Book ') == due

"""Review of the set-based planner against what a booking through session_book guarantees."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from cycles import planner
from cycles.models import Protocol
from notifications.models import ReminderPolicy
from scheduling import services
from scheduling.models import Session
from tests.cycle import at, clinic, treated_course

LAST = date(2027, 1, 5)  # a Tuesday, in EST
TARGET_DAY = LAST + timedelta(days=84)
NOW = datetime(2027, 1, 5, 20, 0, tzinfo=UTC)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def _after(sql_fragments: tuple[str, ...], reached: threading.Event, wait_for: threading.Event | None = None):
    """An execute wrapper: once a query containing every fragment has run, set `reached` (then wait)."""

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if all(fragment in sql for fragment in sql_fragments) and not reached.is_set():
            reached.set()
            if wait_for is not None:
                wait_for.wait(timeout=5)
        return result

    return wrapper


@pytest.mark.postgres
def test_a_front_desk_booking_and_the_planner_on_one_course_neither_deadlock_nor_book_twice(transactional_db, now):
    # session_book locks the patient, then inserts a session referencing the course (a FOR KEY SHARE
    # on the course row); the planner held the course FOR UPDATE and then wanted the patient.
    location, (lee, patel) = clinic()
    course = treated_course(location=location, clinician=lee, treated_on=[LAST])
    Protocol.default()
    ReminderPolicy.current()
    desk_has_patient, planner_has_course = threading.Event(), threading.Event()
    outcome, errors = {}, []

    def desk():
        try:
            with connection.execute_wrapper(
                _after(("patients_patient", "FOR UPDATE"), desk_has_patient, wait_for=planner_has_course)
            ):
                services.session_book(
                    patient=course.patient,
                    clinician=patel,
                    location=location,
                    start=at(TARGET_DAY, 10),
                    kind=Session.Kind.TREATMENT,
                    booked_by=None,
                    course=course,
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def plan():
        try:
            desk_has_patient.wait(timeout=5)
            with connection.execute_wrapper(_after(("cycles_course", "FOR"), planner_has_course)):
                outcome["plan"] = planner.course_plan_next(course_id=course.pk).outcome
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=desk), threading.Thread(target=plan)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert outcome == {"plan": "already_booked"}
    upcoming = Session.objects.filter(course=course, status__in=Session.UPCOMING_STATUSES)
    assert list(upcoming.values_list("clinician_id", "start")) == [(patel.pk, at(TARGET_DAY, 10))]


def test_one_batch_over_two_zones_and_a_clinician_at_two_locations_books_each_at_its_own_local_time(db, now):
    from tests.factories import ClinicianFactory, SessionFactory, WorkingHoursFactory

    manhattan, (lee, _) = clinic()
    london, (smith, _) = clinic(name="London", zone="Europe/London")
    brooklyn, _ = clinic(name="Brooklyn", clinicians=0)
    for weekday in range(7):
        WorkingHoursFactory(clinician=lee, location=brooklyn, weekday=weekday, start_time="18:00", end_time="20:00")
    ny = treated_course(location=manhattan, clinician=lee, treated_on=[LAST])
    uk = treated_course(location=london, clinician=smith, treated_on=[LAST])
    # The patient is busy at 09:00 in Brooklyn; Dr Lee has a Brooklyn session at 09:30 (another patient).
    SessionFactory(
        clinician=ClinicianFactory(),
        location=brooklyn,
        patient=ny.patient,
        course=ny,
        kind="consultation",
        start=at(TARGET_DAY, 9),
    )
    SessionFactory(clinician=lee, location=brooklyn, kind="consultation", start=at(TARGET_DAY, 9, 30))
    results = planner.courses_plan(course_ids=[ny.pk, uk.pk])
    assert {r.outcome for r in results.values()} == {"booked"}
    booked = {s.course_id: s for s in Session.objects.filter(auto_booked=True)}
    assert (booked[ny.pk].clinician_id, booked[ny.pk].start) == (lee.pk, at(TARGET_DAY, 10))
    assert (booked[uk.pk].clinician_id, booked[uk.pk].start) == (smith.pk, at(TARGET_DAY, 9, tz=london.zone))

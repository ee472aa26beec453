"""The planner books through session_book: target slot, nearest free slot, other clinician, or a flag."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from cycles import planner
from cycles.models import Protocol, ReviewFlag
from scheduling.models import Session
from tests.cycle import at, clinic, treated_course
from tests.factories import PatientFactory, SessionFactory, TimeOffFactory

LAST = date(2027, 1, 5)  # a Tuesday, in EST
TARGET_DAY = date(2027, 3, 30)  # day 84, in EDT
NOW = datetime(2027, 1, 5, 20, 0, tzinfo=UTC)  # 15:00 in New York, after the treatment


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setting(db):
    location, (lee, patel) = clinic()
    course = treated_course(location=location, clinician=lee, treated_on=[LAST])
    return location, lee, patel, course


def _booked(course):
    return list(Session.objects.filter(course=course, status=Session.Status.BOOKED))


def test_the_next_treatment_is_booked_84_days_later_at_the_same_local_time_with_the_same_clinician(setting):
    location, lee, _, course = setting
    result = planner.course_plan_next(course_id=course.pk)
    assert result.outcome == "booked"
    [session] = _booked(course)
    assert session.start == at(TARGET_DAY, 9)  # 09:00 EDT although the last one was 09:00 EST
    assert session.start.astimezone(UTC).hour == 13
    assert (session.clinician, session.location, session.kind) == (lee, location, Session.Kind.TREATMENT)
    assert session.auto_booked is True
    assert session.booked_by is None
    assert session.patient_id == course.patient_id


def test_a_taken_target_slot_gives_the_nearest_free_slot_in_the_window(setting):
    location, lee, _, course = setting
    SessionFactory(clinician=lee, location=location, start=at(TARGET_DAY, 9))
    planner.course_plan_next(course_id=course.pk)
    [session] = _booked(course)
    assert (session.start, session.clinician) == (at(TARGET_DAY, 9, 30), lee)


def test_a_tie_between_two_nearest_slots_goes_to_the_earlier(setting):
    location, lee, _, course = setting
    # The last treatment was at 12:00; the 12:00 slot is taken; 11:30 and 12:30 are equally near.
    course = treated_course(location=location, clinician=lee, treated_on=[LAST], hour=12)
    SessionFactory(clinician=lee, location=location, start=at(TARGET_DAY, 12))
    planner.course_plan_next(course_id=course.pk)
    [session] = _booked(course)
    assert session.start == at(TARGET_DAY, 11, 30)


def test_a_target_outside_working_hours_moves_to_the_nearest_slot_inside_them(setting):
    location, lee, _, _ = setting
    course = treated_course(location=location, clinician=lee, treated_on=[LAST], hour=7)  # before opening
    planner.course_plan_next(course_id=course.pk)
    [session] = _booked(course)
    assert (session.start, session.clinician) == (at(TARGET_DAY, 9), lee)


def test_a_whole_day_taken_moves_to_the_nearest_day_and_the_same_clinician_before_any_other(setting):
    location, lee, _, course = setting
    for minutes in range(0, 8 * 60, 30):
        SessionFactory(clinician=lee, location=location, start=at(TARGET_DAY, 9) + timedelta(minutes=minutes))
    planner.course_plan_next(course_id=course.pk)
    [session] = _booked(course)
    # 09:00 the next day is nearer than 16:30 the day before (which is outside the window anyway: day 83).
    assert (session.start, session.clinician) == (at(TARGET_DAY + timedelta(days=1), 9), lee)


def test_the_clinician_on_leave_gives_another_clinician_at_the_location(setting):
    _, lee, patel, course = setting
    TimeOffFactory(
        clinician=lee, start=at(TARGET_DAY - timedelta(days=2), 0), end=at(TARGET_DAY + timedelta(days=20), 0)
    )
    planner.course_plan_next(course_id=course.pk)
    [session] = _booked(course)
    assert (session.start, session.clinician) == (at(TARGET_DAY, 9), patel)


def test_a_patient_busy_at_the_target_gets_the_nearest_other_slot(setting):
    location, lee, patel, course = setting
    SessionFactory(
        patient=course.patient,
        course=None,
        clinician=patel,
        location=location,
        start=at(TARGET_DAY, 9),
        kind=Session.Kind.CONSULTATION,
    )
    planner.course_plan_next(course_id=course.pk)
    [session] = _booked(course)
    assert (session.start, session.clinician) == (at(TARGET_DAY, 9, 30), lee)


def test_nothing_free_in_the_window_opens_auto_booking_failed_and_the_course_is_due(setting, front_desk_client):
    _, lee, patel, course = setting
    for clinician in (lee, patel):
        TimeOffFactory(clinician=clinician, start=at(TARGET_DAY - timedelta(days=1), 0), end=at(date(2027, 5, 1), 0))
    result = planner.course_plan_next(course_id=course.pk)
    assert result.outcome == "failed"
    assert _booked(course) == []
    [flag] = ReviewFlag.objects.filter(course=course)
    assert (flag.kind, flag.cycle, flag.status) == (ReviewFlag.Kind.AUTO_BOOKING_FAILED, 1, ReviewFlag.Status.OPEN)
    assert flag.details["due_from"] == "2027-03-30"
    assert flag.details["due_by"] == "2027-04-13"
    # The front desk finds the patient on the due list once the window is near.
    with time_machine.travel(datetime(2027, 3, 20, 15, tzinfo=UTC), tick=False):
        body = front_desk_client.get("/api/v1/due/?within_days=14").json()
    assert [row["course"] for row in body["results"]] == [str(course.pk)]
    # A second run neither books nor flags again.
    assert planner.course_plan_next(course_id=course.pk).outcome == "failed"
    assert ReviewFlag.objects.filter(course=course).count() == 1


def test_the_sweep_leaves_a_course_with_an_open_auto_booking_failed_flag_to_the_front_desk(setting):
    _, lee, patel, _course = setting
    for clinician in (lee, patel):
        TimeOffFactory(clinician=clinician, start=at(TARGET_DAY - timedelta(days=1), 0), end=at(date(2027, 5, 1), 0))
    assert planner.plan_sweep()["failed"] == 1
    assert planner.plan_sweep() == {"booked": 0, "failed": 0, "already_booked": 0, "skipped": 0}


def test_with_auto_book_off_nothing_is_booked_and_the_course_is_on_the_due_list(setting, front_desk_client):
    _, _, _, course = setting
    Protocol.objects.filter(is_default=True).update(auto_book=False)
    assert planner.course_plan_next(course_id=course.pk).outcome == "skipped"
    assert planner.plan_sweep()["booked"] == 0
    assert _booked(course) == []
    assert not ReviewFlag.objects.exists()
    with time_machine.travel(datetime(2027, 3, 20, 15, tzinfo=UTC), tick=False):
        body = front_desk_client.get("/api/v1/due/?within_days=14").json()
    assert [row["course"] for row in body["results"]] == [str(course.pk)]


def test_planning_twice_books_once(setting):
    _, _, _, course = setting
    assert planner.course_plan_next(course_id=course.pk).outcome == "booked"
    assert planner.course_plan_next(course_id=course.pk).outcome == "already_booked"
    assert planner.plan_sweep()["booked"] == 0
    assert len(_booked(course)) == 1


def test_a_course_that_is_stopped_or_untreated_is_not_planned(setting):
    location, lee, _, course = setting
    course.status = "stopped"
    course.save()
    untreated = treated_course(location=location, clinician=lee, treated_on=[], patient=PatientFactory())
    assert planner.course_plan_next(course_id=course.pk).outcome == "skipped"
    assert planner.course_plan_next(course_id=untreated.pk).outcome == "skipped"
    assert planner.plan_sweep()["booked"] == 0
    assert not Session.objects.filter(status=Session.Status.BOOKED).exists()


def test_a_course_past_its_window_is_left_to_the_overdue_flag(setting):
    _, _, _, course = setting
    with time_machine.travel(datetime(2027, 4, 14, 16, tzinfo=UTC), tick=False):
        assert planner.course_plan_next(course_id=course.pk).outcome == "skipped"
        assert planner.plan_sweep()["booked"] == 0
    assert _booked(course) == []


def test_late_in_the_window_only_days_from_today_are_tried(setting):
    _location, lee, _patel, course = setting
    with time_machine.travel(datetime(2027, 4, 6, 12, tzinfo=UTC), tick=False):  # 08:00 on day 91
        planner.course_plan_next(course_id=course.pk)
    [session] = _booked(course)
    assert (session.start, session.clinician) == (at(date(2027, 4, 6), 9), lee)


def test_the_sweep_plans_every_course_with_nothing_booked_in_chunks(db):
    location, (lee, _) = clinic()
    courses = [
        treated_course(location=location, clinician=lee, treated_on=[LAST - timedelta(days=i)]) for i in range(7)
    ]
    assert planner.plan_sweep(chunk_size=3) == {"booked": 7, "failed": 0, "already_booked": 0, "skipped": 0}
    for course in courses:
        assert len(_booked(course)) == 1
    assert planner.plan_sweep(chunk_size=3)["booked"] == 0


def test_a_paused_patient_is_not_booked(setting):
    _, _, _, course = setting
    course.patient.status = "paused"
    course.patient.save()
    assert planner.course_plan_next(course_id=course.pk).outcome == "skipped"
    assert planner.plan_sweep()["booked"] == 0
    assert _booked(course) == []

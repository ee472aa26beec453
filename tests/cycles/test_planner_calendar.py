"""The planner's calendar of one location: where a batch of courses lands, without the database."""

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from uuid import uuid4
from zoneinfo import ZoneInfo

from cycles.calendar import PlannerCalendar
from cycles.rules import next_target
from scheduling import slots
from scheduling.calendar import Calendar

NEW_YORK = ZoneInfo("America/New_York")
PROTOCOL = SimpleNamespace(interval_days=84, min_interval_days=84, window_days=14)
LAST = datetime(2027, 1, 5, 9, tzinfo=NEW_YORK)  # a Tuesday; 84 days on is Tuesday 30 March (EDT)
TARGET = next_target(LAST, NEW_YORK, PROTOCOL)
DAYS = (TARGET.due_from, TARGET.due_by)
NOW = datetime(2027, 1, 6, tzinfo=UTC)
LEE, PATEL = uuid4(), uuid4()


def calendar(*, hours_of=(LEE, PATEL), busy=None, patient_busy=None) -> PlannerCalendar:
    rules = [slots.HoursRule(cid, weekday, time(9), time(12)) for cid in hours_of for weekday in range(5)]
    return PlannerCalendar(
        location_id="loc",
        tz=NEW_YORK,
        calendar=Calendar(
            hours=slots.expand_hours(rules=rules, start_date=DAYS[0], end_date=DAYS[1], tz=NEW_YORK),
            busy=busy or {},
            patient_busy=patient_busy or {},
        ),
    )


def local(slot) -> tuple:
    start = slot.start.astimezone(NEW_YORK)
    return slot.clinician_id, start.date(), start.time()


def place(cal: PlannerCalendar, patient, clinician=LEE):
    return cal.place(
        target=TARGET, clinician_id=clinician, patient_id=patient, days=DAYS, now=NOW, length=timedelta(minutes=30)
    )


def test_the_target_is_taken_when_free_at_the_same_local_time_across_dst():
    assert local(place(calendar(), uuid4())) == (LEE, date(2027, 3, 30), time(9))


def test_two_courses_of_one_batch_aiming_at_the_same_time_get_different_slots():
    cal = calendar()
    first, second = place(cal, uuid4()), place(cal, uuid4())
    assert local(first) == (LEE, date(2027, 3, 30), time(9))
    # The same clinician's nearest free slot: 09:30 that day.
    assert local(second) == (LEE, date(2027, 3, 30), time(9, 30))


def test_a_patient_busy_elsewhere_at_the_target_gets_the_nearest_slot_that_suits_them():
    patient = uuid4()
    target = TARGET.start.astimezone(UTC)
    cal = calendar(patient_busy={patient: [(target - timedelta(minutes=15), target + timedelta(minutes=45))]})
    assert local(place(cal, patient)) == (LEE, date(2027, 3, 30), time(10))


def test_a_clinician_on_leave_for_the_whole_window_hands_the_course_to_a_colleague():
    first, _ = DAYS
    leave = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))
    assert local(place(calendar(busy={LEE: [leave]}), uuid4())) == (PATEL, first, time(9))


def test_nothing_free_in_the_window_places_nothing():
    leave = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))
    assert place(calendar(busy={LEE: [leave], PATEL: [leave]}), uuid4()) is None


def test_slots_before_now_are_never_offered():
    # Now is 10:40 local on the last day of the window: only 11:00 and 11:30 remain that day, and the target
    # (the first day) has passed.
    last_day = DAYS[1]
    now = datetime.combine(last_day, time(10, 40), tzinfo=NEW_YORK).astimezone(UTC)
    cal = calendar(hours_of=(PATEL,))
    slot = cal.place(
        target=TARGET,
        clinician_id=LEE,
        patient_id=uuid4(),
        days=(last_day, last_day),
        now=now,
        length=timedelta(minutes=30),
    )
    assert local(slot) == (PATEL, last_day, time(11))

"""Response review against the database: the sweep, the per-patient review and the flags it opens.

Scenarios from issue #4: a baseline of 20 headache days per 28 and one 28-day
diary period per cycle (enough to assess it), treatments 84 days apart.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from clinic.timezones import local_datetime
from cycles import review
from cycles.flags import review_flag_resolve
from cycles.models import ReviewFlag
from scheduling.models import Session
from tests.cycle import NEW_YORK, clinic, diary, treated_course
from tests.factories import ClinicianFactory, DiaryEntryFactory, SessionFactory, UserFactory

T1 = date(2026, 1, 6)


def day(n: int) -> date:
    """Day n after the first treatment."""
    return T1 + timedelta(days=n)


def on(n: int, hour: int = 12):
    """An instant on day n (noon in New York)."""
    return local_datetime(day(n), time(hour), NEW_YORK)


@pytest.fixture
def place(db):
    location, (lee, _) = clinic()
    return location, lee


def course_with(place, cycles_values: list[int], treatments: int):
    """Treatments every 84 days; baseline 20 over the 84 days before; one 28-day period per cycle."""
    location, _ = place
    # A clinician of its own: on PostgreSQL two sessions of one clinician cannot overlap.
    clinician = ClinicianFactory(locations=[location])
    course = treated_course(location=location, clinician=clinician, treated_on=[day(84 * k) for k in range(treatments)])
    diary(course.patient, day(-84), [20, 20, 20])
    for k, value in enumerate(cycles_values):
        diary(course.patient, day(84 * k), [value])
    return course


def sweep_on(n: int) -> dict:
    with time_machine.travel(on(n), tick=False):
        return review.responses_sweep()


def flags(course, kind=None):
    rows = ReviewFlag.objects.filter(course=course).order_by("raised_at", "cycle")
    if kind:
        rows = rows.filter(kind=kind)
    return [(f.kind, f.cycle, f.status) for f in rows]


def test_scenario_a_no_benefit_is_flagged_once_after_the_third_cycle_is_assessed_and_not_before(place):
    course = course_with(place, [18], treatments=1)
    sweep_on(40)
    assert flags(course) == []
    course = course_with(place, [18, 17], treatments=2)
    sweep_on(84 + 40)
    assert flags(course) == []
    # The third treatment is done but its cycle has no 28 diary days yet.
    course = course_with(place, [18, 17], treatments=3)
    sweep_on(168 + 20)
    assert flags(course) == []
    diary(course.patient, day(168), [16])
    # 28 diary days at no benefit, but the toxin is not at full effect until day 56 of the cycle.
    assert sweep_on(168 + 28)["flags_opened"] == 0
    assert sweep_on(168 + 55)["flags_opened"] == 0
    assert sweep_on(168 + 56)["flags_opened"] == 1
    [flag] = ReviewFlag.objects.filter(course=course)
    assert (flag.kind, flag.cycle, flag.status, flag.patient_id) == ("no_benefit", 3, "open", course.patient_id)
    assert flag.details["baseline"] == 20.0
    assert flag.details["cycle_headache_days_per_28"] == 16.0
    assert flag.details["reduction_pct"] == 20.0
    assert flag.details["threshold_pct"] == 30
    assert flag.details["diary_days"] == 28
    # Again, and again later in the cycle: still the one flag.
    assert sweep_on(168 + 56)["flags_opened"] == 0
    sweep_on(168 + 70)
    assert flags(course) == [("no_benefit", 3, "open")]


def test_scenario_b_a_third_cycle_with_benefit_raises_no_flag(place):
    course = course_with(place, [18, 12, 13], treatments=3)
    sweep_on(168 + 28)
    sweep_on(168 + 60)
    assert flags(course) == []


def test_scenario_c_no_diary_after_the_third_treatment_flags_missing_data_seven_days_before_the_fourth(place):
    course = course_with(place, [18, 17], treatments=3)
    fourth_due = 168 + 84
    sweep_on(fourth_due - 8)
    assert flags(course) == []
    sweep_on(fourth_due - 7)
    [flag] = ReviewFlag.objects.filter(course=course)
    assert (flag.kind, flag.cycle) == ("missing_response_data", 3)
    assert flag.details["next_treatment"] == day(fourth_due).isoformat()
    for n in (fourth_due, fourth_due + 10, fourth_due + 30):
        sweep_on(n)
    assert flags(course) == [("missing_response_data", 3, "open")]


def test_scenario_c_counts_from_a_booked_fourth_treatment(place):
    location, lee = place
    course = course_with(place, [18, 17], treatments=3)
    SessionFactory(patient=course.patient, course=course, clinician=lee, location=location, start=on(168 + 90, 10))
    sweep_on(168 + 82)
    assert flags(course) == []
    sweep_on(168 + 83)
    assert flags(course) == [("missing_response_data", 3, "open")]


def test_scenario_d_after_continue_a_fourth_cycle_below_threshold_opens_a_new_flag(place):
    course = course_with(place, [18, 17, 16], treatments=3)
    sweep_on(168 + 60)
    flag = ReviewFlag.objects.get(course=course)
    clinician = UserFactory(role="clinician")
    review_flag_resolve(flag=flag, decision="continue", note="One more cycle.", resolved_by=clinician)
    # The resolved cycle-3 flag is not reopened by later sweeps.
    sweep_on(168 + 70)
    assert flags(course) == [("no_benefit", 3, "resolved")]
    location, lee = place
    SessionFactory(
        patient=course.patient,
        course=course,
        clinician=lee,
        location=location,
        start=on(252, 9),
        status=Session.Status.COMPLETED,
        cycle_number=4,
    )
    sweep_on(252 + 10)  # the fourth cycle is not assessed yet
    assert flags(course) == [("no_benefit", 3, "resolved")]
    diary(course.patient, day(252), [16])
    sweep_on(252 + 28)  # assessed, not final yet
    assert flags(course) == [("no_benefit", 3, "resolved")]
    sweep_on(252 + 56)
    assert flags(course) == [("no_benefit", 3, "resolved"), ("no_benefit", 4, "open")]
    new = ReviewFlag.objects.get(course=course, cycle=4)
    assert new.details["cycle_headache_days_per_28"] == 16.0


def test_a_resolved_stop_stops_the_course_and_cancels_its_upcoming_sessions(place):
    location, lee = place
    course = course_with(place, [18, 17, 16], treatments=3)
    sweep_on(168 + 60)
    flag = ReviewFlag.objects.get(course=course)
    with time_machine.travel(on(168 + 61), tick=False):
        upcoming = SessionFactory(
            patient=course.patient, course=course, clinician=lee, location=location, start=on(252, 9)
        )
        review_flag_resolve(flag=flag, decision="stop", note="", resolved_by=UserFactory(role="clinician"))
    course.refresh_from_db()
    upcoming.refresh_from_db()
    assert course.status == "stopped"
    assert course.stopped_at is not None
    assert upcoming.status == Session.Status.CANCELLED
    # A stopped course is neither reviewed nor planned again.
    sweep_on(252 + 30)
    assert ReviewFlag.objects.filter(course=course).count() == 1


def test_episodic_conversion_is_flagged_after_84_gap_free_days_below_15(place):
    location, lee = place
    course = treated_course(location=location, clinician=lee, treated_on=[T1])
    diary(course.patient, day(-84), [20, 20, 20])
    diary(course.patient, T1, [12, 12, 12])
    sweep_on(84)
    assert flags(course) == [("episodic_conversion", 1, "open")]


def test_short_diary_periods_with_gaps_are_no_episodic_conversion(place):
    location, lee = place
    course = treated_course(location=location, clinician=lee, treated_on=[T1])
    diary(course.patient, day(-84), [20, 20, 20])
    for k in range(3):
        diary(course.patient, day(28 * k), [2], days=7)  # 7 days a month: low, but mostly gaps
    sweep_on(84)
    assert flags(course, "episodic_conversion") == []


def test_medication_overuse_is_flagged_and_shown_on_eligibility(place, clinician_client):
    location, lee = place
    course = treated_course(location=location, clinician=lee, treated_on=[T1])
    for k in range(3):
        start = day(28 * k - 84)
        DiaryEntryFactory(
            patient=course.patient,
            period_start=start,
            period_end=start + timedelta(days=27),
            headache_days=20,
            migraine_days=10,
            acute_medication_days=12,
        )
    sweep_on(10)
    assert flags(course, "medication_overuse") == [("medication_overuse", 1, "open")]
    with time_machine.travel(on(10), tick=False):
        eligibility = clinician_client.get(f"/api/v1/patients/{course.patient_id}/eligibility/").json()
    assert eligibility["medication_overuse"] is True, eligibility
    assert eligibility["acute_medication_days_per_28"] == 12.0
    assert any("Medication overuse" in reason for reason in eligibility["reasons"])


def test_the_overdue_sweep_flags_a_course_past_its_window_with_nothing_booked(place):
    location, lee = place
    course = treated_course(location=location, clinician=lee, treated_on=[T1])
    booked = treated_course(location=location, clinician=lee, treated_on=[T1], hour=10)
    SessionFactory(patient=booked.patient, course=booked, clinician=lee, location=location, start=on(120, 9))
    with time_machine.travel(on(98), tick=False):  # the last day of the window
        assert review.overdue_sweep() == {"courses": 0, "flags_opened": 0}
    with time_machine.travel(on(99), tick=False):
        assert review.overdue_sweep() == {"courses": 1, "flags_opened": 1}
        assert review.overdue_sweep() == {"courses": 1, "flags_opened": 0}
    [flag] = ReviewFlag.objects.all()
    assert (flag.course_id, flag.kind, flag.cycle) == (course.pk, "overdue", 1)
    assert flag.details == {"last_treatment": "2026-01-06", "due_from": "2026-03-31", "due_by": "2026-04-14"}


def test_overdue_uses_the_local_date_of_the_location(db):
    # 23:30 in Los Angeles on 6 January is 7 January in UTC; day 98 is 14 April there.
    location, (lee,) = clinic(name="Pasadena", zone="America/Los_Angeles", clinicians=1)
    course = treated_course(location=location, clinician=lee, treated_on=[T1], hour=23)
    with time_machine.travel(datetime(2026, 4, 15, 6, 59, tzinfo=UTC), tick=False):  # 23:59 on 14 April in LA
        assert review.overdue_sweep()["flags_opened"] == 0
    with time_machine.travel(datetime(2026, 4, 15, 7, 1, tzinfo=UTC), tick=False):  # 00:01 on 15 April in LA
        assert review.overdue_sweep()["flags_opened"] == 1
    assert ReviewFlag.objects.get().course_id == course.pk


def test_chunked_sweeps_see_every_course(place):
    location, lee = place
    courses = [course_with(place, [18, 17, 16], treatments=3) for _ in range(7)]
    with time_machine.travel(on(168 + 60), tick=False):
        assert review.responses_sweep(chunk_size=3) == {"courses": 7, "flags_opened": 7}
        assert review.responses_sweep(chunk_size=3) == {"courses": 7, "flags_opened": 0}
    assert sorted(ReviewFlag.objects.values_list("course_id", flat=True)) == sorted(c.pk for c in courses)
    assert location and lee


def test_recording_a_diary_entry_reviews_the_patient(place, clinician_client, django_capture_on_commit_callbacks):
    course = course_with(place, [18, 17], treatments=3)
    with time_machine.travel(on(168 + 60), tick=False), django_capture_on_commit_callbacks(execute=True):
        response = clinician_client.post(
            f"/api/v1/patients/{course.patient_id}/diary/",
            {
                "period_start": day(168).isoformat(),
                "period_end": day(168 + 27).isoformat(),
                "headache_days": 16,
                "migraine_days": 8,
                "acute_medication_days": 4,
            },
        )
    assert response.status_code == 201, response.content
    assert flags(course) == [("no_benefit", 3, "open")]

"""Protocol profiles per course (issue 11, Must show 2, 6, 7): the profiles and courses API, each course
judged by its own profile, a profile change touching only its own courses."""

from datetime import date, timedelta

import pytest
import time_machine

from cycles import review
from cycles.models import Course, Protocol, ReviewFlag
from patients.response import Metric
from tests.cycle import at, clinic, diary, treated_course
from tests.factories import ClinicianFactory, DiaryEntryFactory, PatientFactory, WorkingHoursFactory

API = "/api/v1"
T1 = date(2026, 1, 6)


def day(n: int) -> date:
    return T1 + timedelta(days=n)


def sweep_on(n: int) -> dict:
    with time_machine.travel(at(day(n), 12), tick=False):
        return review.responses_sweep()


@pytest.fixture
def place(db):
    location, _ = clinic()
    return location


def course_with(location, cycles_values, treatments: int, *, protocol=None, baseline=(20, 10), migraine=None):
    """Treatments every 84 days; a baseline of 84 diary days; one 28-day period per cycle."""
    clinician = ClinicianFactory(locations=[location])
    course = treated_course(location=location, clinician=clinician, treated_on=[day(84 * k) for k in range(treatments)])
    if protocol is not None:
        Course.objects.filter(pk=course.pk).update(protocol=protocol)
    headache, migraine_base = baseline
    for k in range(3):
        start = day(-84 + 28 * k)
        DiaryEntryFactory(
            patient=course.patient,
            period_start=start,
            period_end=start + timedelta(days=27),
            headache_days=headache,
            migraine_days=migraine_base,
        )
    for k, value in enumerate(cycles_values):
        DiaryEntryFactory(
            patient=course.patient,
            period_start=day(84 * k),
            period_end=day(84 * k + 27),
            headache_days=value,
            migraine_days=migraine[k] if migraine else min(value, 8),
        )
    return course


def flags(course):
    return [(f.kind, f.cycle) for f in ReviewFlag.objects.filter(course=course).order_by("cycle")]


# --- when a cycle is judged ---------------------------------------------------------------------------


def test_cycle_3_treated_30_days_ago_is_shown_not_final_and_not_flagged(place, clinician_client):
    course = course_with(place, [18, 17, 16], treatments=3)
    sweep_on(168 + 30)
    assert flags(course) == []
    with time_machine.travel(at(day(168 + 30), 12), tick=False):
        body = clinician_client.get(f"{API}/patients/{course.patient_id}/response/").json()
    third = body["cycles"][2]
    assert (third["assessment"], third["final"], third["reduction_pct"]) == ("no_benefit", False, 20.0)
    assert [c["final"] for c in body["cycles"]] == [True, True, False]


def test_cycle_3_treated_60_days_ago_opens_one_no_benefit_flag(place, clinician_client):
    course = course_with(place, [18, 17, 16], treatments=3)
    assert sweep_on(168 + 60)["flags_opened"] == 1
    assert sweep_on(168 + 61)["flags_opened"] == 0
    assert flags(course) == [("no_benefit", 3)]
    with time_machine.travel(at(day(168 + 60), 12), tick=False):
        third = clinician_client.get(f"{API}/patients/{course.patient_id}/response/").json()["cycles"][2]
    assert third["final"] is True


def test_a_course_on_the_nice_profile_is_flagged_after_cycle_2(place):
    nice = Protocol.objects.create(name="NICE TA260", min_failed_preventives=3, review_after_sessions=2)
    on_nice = course_with(place, [18, 17], treatments=2, protocol=nice)
    on_preempt = course_with(place, [18, 17], treatments=2)
    sweep_on(84 + 60)
    assert flags(on_nice) == [("no_benefit", 2)]
    assert flags(on_preempt) == []


def test_a_us_payer_course_judged_on_migraine_days_at_50_percent_is_no_benefit(place, clinician_client):
    us = Protocol.objects.create(name="US payer", response_threshold_pct=50, response_metric=Metric.MIGRAINE_DAYS)
    # Baseline 20 headache / 10 migraine days; each cycle 11 headache (−45 %) and 6 migraine (−40 %) days.
    on_us = course_with(place, [11, 11, 11], treatments=3, protocol=us, migraine=[6, 6, 6])
    on_preempt = course_with(place, [11, 11, 11], treatments=3, migraine=[6, 6, 6])
    sweep_on(168 + 60)
    assert flags(on_us) == [("no_benefit", 3)]
    assert flags(on_preempt) == []  # −45 % headache days is a benefit at 30 %
    flag = ReviewFlag.objects.get(course=on_us)
    assert (flag.details["metric"], flag.details["reduction_pct"], flag.details["threshold_pct"]) == (
        "migraine_days",
        40.0,
        50,
    )
    with time_machine.travel(at(day(168 + 60), 12), tick=False):
        body = clinician_client.get(f"{API}/patients/{on_us.patient_id}/response/").json()
    assert (body["metric"], body["threshold_pct"], body["status"]) == ("migraine_days", 50, "non_responder")
    assert (body["cycles"][0]["headache_days_per_28"], body["cycles"][0]["migraine_days_per_28"]) == (11.0, 6.0)


def test_the_baseline_and_cycles_are_per_course(place, clinician_client):
    first = course_with(place, [18], treatments=1)
    Course.objects.filter(pk=first.pk).update(status=Course.Status.STOPPED)
    restarted = treated_course(
        location=place,
        clinician=ClinicianFactory(locations=[place]),
        treated_on=[day(200)],
        patient=first.patient,
    )
    diary(first.patient, day(200 - 56), [12, 12])  # the 90 days before the new course's first treatment
    with time_machine.travel(at(day(230), 12), tick=False):
        latest = clinician_client.get(f"{API}/patients/{first.patient_id}/response/").json()
        older = clinician_client.get(f"{API}/patients/{first.patient_id}/response/", {"course": str(first.pk)}).json()
    assert latest["course"] == str(restarted.pk)
    assert (latest["baseline"]["headache_days_per_28"], len(latest["cycles"])) == (12.0, 1)
    assert (older["baseline"]["headache_days_per_28"], len(older["cycles"])) == (20.0, 1)


# --- the profiles and courses API ---------------------------------------------------------------------


def test_profiles_carry_the_new_fields_with_their_defaults(clinic_admin_client, db):
    body = clinic_admin_client.get(f"{API}/protocol/").json()
    assert body["is_default"] is True
    assert {
        k: body[k]
        for k in (
            "min_baseline_diary_days",
            "min_cycle_diary_days",
            "baseline_window_days",
            "assessment_after_days",
            "response_metric",
            "review_after_sessions",
            "episodic_threshold_days",
            "episodic_min_diary_days",
            "overuse_acute_days",
            "requires_authorization",
            "units_per_site",
            "backfill_offers",
            "backfill_min_notice_hours",
        )
    } == {
        "min_baseline_diary_days": 28,
        "min_cycle_diary_days": 28,
        "baseline_window_days": 90,
        "assessment_after_days": 56,
        "response_metric": "headache_days",
        "review_after_sessions": 3,
        "episodic_threshold_days": 15,
        "episodic_min_diary_days": 84,
        "overuse_acute_days": 10,
        "requires_authorization": False,
        "units_per_site": 5,
        "backfill_offers": 3,
        "backfill_min_notice_hours": 24,
    }
    assert set(body["urgent_adverse_events"]) == {
        "dysphagia",
        "breathing_difficulty",
        "diplopia",
        "dysphonia",
        "dysarthria",
        "generalized_weakness",
        "allergic_reaction",
    }


def test_a_clinic_admin_adds_a_profile_and_moves_the_default_to_it(clinic_admin_client, front_desk_client, db):
    old = Protocol.default()
    created = clinic_admin_client.post(
        f"{API}/protocols/", {"name": "NICE TA260", "min_failed_preventives": 3, "review_after_sessions": 2}
    )
    assert created.status_code == 201, created.json()
    assert created.json()["is_default"] is False
    listed = front_desk_client.get(f"{API}/protocols/").json()
    assert [p["name"] for p in listed["results"]] == [old.name, "NICE TA260"]
    moved = clinic_admin_client.patch(f"{API}/protocols/{created.json()['id']}/", {"is_default": True})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["is_default"] is True
    assert Protocol.objects.filter(is_default=True).get().name == "NICE TA260"
    assert front_desk_client.get(f"{API}/protocol/").json()["id"] == created.json()["id"]
    # The default is never left empty, and front desk cannot write.
    refused = clinic_admin_client.patch(f"{API}/protocols/{created.json()['id']}/", {"is_default": False})
    assert refused.status_code == 400 and "is_default" in refused.json()["fields"]
    assert front_desk_client.patch(f"{API}/protocols/{old.pk}/", {"max_units": 200}).status_code == 403


def test_patching_one_profile_leaves_the_courses_on_other_profiles_untouched(place, clinic_admin_client, db):
    nice = Protocol.objects.create(name="NICE TA260", min_failed_preventives=3, review_after_sessions=2)
    with time_machine.travel(at(day(10), 12), tick=False):
        on_nice = course_with(place, [], treatments=1, protocol=nice)
        on_preempt = course_with(place, [], treatments=1)
        before = {c["id"]: c for c in clinic_admin_client.get(f"{API}/courses/").json()["results"]}
        patched = clinic_admin_client.patch(
            f"{API}/protocols/{nice.pk}/", {"interval_days": 70, "min_interval_days": 70, "window_days": 7}
        )
        assert patched.status_code == 200
        after = {c["id"]: c for c in clinic_admin_client.get(f"{API}/courses/").json()["results"]}
    assert (before[str(on_nice.pk)]["due_from"], after[str(on_nice.pk)]["due_from"]) == ("2026-03-31", "2026-03-17")
    assert after[str(on_nice.pk)]["due_by"] == "2026-03-24"
    assert after[str(on_preempt.pk)] == before[str(on_preempt.pk)]
    assert Protocol.default().interval_days == 84


def test_a_clinician_moves_a_course_to_another_profile_and_the_next_sweep_judges_it_by_that(
    place, clinician_client, front_desk_client
):
    nice = Protocol.objects.create(name="NICE TA260", review_after_sessions=2)
    course = course_with(place, [18, 17], treatments=2)
    sweep_on(84 + 60)
    assert flags(course) == []  # PREEMPT reviews after 3
    response = clinician_client.patch(f"{API}/courses/{course.pk}/", {"protocol": str(nice.pk)})
    assert response.status_code == 200, response.json()
    assert response.json()["protocol"] == str(nice.pk)
    sweep_on(84 + 61)
    assert flags(course) == [("no_benefit", 2)]
    assert front_desk_client.patch(f"{API}/courses/{course.pk}/", {"status": "paused"}).status_code == 403


def test_a_clinician_pauses_and_resumes_a_course(place, clinician_client):
    course = course_with(place, [], treatments=1)
    assert clinician_client.patch(f"{API}/courses/{course.pk}/", {"status": "paused"}).json()["status"] == "paused"
    assert clinician_client.patch(f"{API}/courses/{course.pk}/", {"status": "active"}).json()["status"] == "active"
    bad = clinician_client.patch(f"{API}/courses/{course.pk}/", {"status": "stopped"})
    assert bad.status_code == 400 and "status" in bad.json()["fields"]


def test_a_course_cannot_resume_beside_another_active_course(place, clinician_client):
    first = course_with(place, [], treatments=1)
    Course.objects.filter(pk=first.pk).update(status=Course.Status.PAUSED)
    Course.objects.create(patient=first.patient, protocol=Protocol.default())
    response = clinician_client.patch(f"{API}/courses/{first.pk}/", {"status": "active"})
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_the_courses_list_has_the_contract_fields_and_filters(place, front_desk_client):
    with time_machine.travel(at(day(100), 12), tick=False):
        course = course_with(place, [18], treatments=2)
        untreated = Course.objects.create(patient=PatientFactory(), protocol=Protocol.default())
        body = front_desk_client.get(f"{API}/courses/", {"patient": str(course.patient_id)}).json()
        [row] = body["results"]
        assert row == {
            **row,
            "id": str(course.pk),
            "patient": str(course.patient_id),
            "protocol": str(Protocol.default().pk),
            "status": "active",
            "started_on": "2026-01-06",
            "cycles_completed": 2,
            "last_treatment": "2026-03-31",
            "due_from": "2026-06-23",
            "due_by": "2026-07-07",
        }
        blank = front_desk_client.get(f"{API}/courses/{untreated.pk}/").json()
        assert (blank["started_on"], blank["cycles_completed"], blank["due_from"]) == (None, 0, None)
        assert front_desk_client.get(f"{API}/courses/", {"status": "stopped"}).json()["count"] == 0


@pytest.mark.parametrize("n", [3, 30])
def test_the_courses_list_takes_the_same_queries_for_3_and_30_courses(
    place, front_desk_client, n, django_assert_num_queries
):
    for _ in range(n):
        course_with(place, [18], treatments=2)
    # 1 the token with its user and roles, 2 count, 3 courses with protocol and their treatment dates, 4 audit rows
    with django_assert_num_queries(4):
        assert front_desk_client.get(f"{API}/courses/", {"page_size": 50}).json()["count"] == n


def test_front_desk_learns_no_figures_from_a_not_eligible_refusal(place, front_desk_client, clinician_client):
    patient = PatientFactory(time_zone="America/New_York")
    clinician = ClinicianFactory(locations=[place])
    for weekday in range(7):
        WorkingHoursFactory(clinician=clinician, location=place, weekday=weekday)
    diary(patient, date(2026, 12, 1), [6])  # far from chronic
    body = {
        "patient": str(patient.pk),
        "clinician": str(clinician.pk),
        "location": str(place.pk),
        "kind": "treatment",
    }
    with time_machine.travel(at(date(2027, 1, 4), 8), tick=False):
        desk = front_desk_client.post(f"{API}/sessions/", {**body, "start": at(date(2027, 1, 5), 10).isoformat()})
        clinician_view = clinician_client.post(
            f"{API}/sessions/", {**body, "start": at(date(2027, 1, 6), 10).isoformat()}
        )
    assert desk.status_code == 422 and desk.json()["code"] == "not_eligible"
    assert desk.json()["reasons"] == ["Does not meet the treatment criteria; a clinician can review."]
    assert "headache" not in desk.content.decode().lower() and "preventive" not in desk.content.decode().lower()
    assert clinician_view.status_code == 422
    assert any("headache days per 28" in reason for reason in clinician_view.json()["reasons"])


def test_a_new_profile_needs_a_name_of_its_own(clinic_admin_client, db):
    unnamed = clinic_admin_client.post(f"{API}/protocols/", {})
    assert unnamed.status_code == 400 and "name" in unnamed.json()["fields"]
    taken = clinic_admin_client.post(f"{API}/protocols/", {"name": f"  {Protocol.default().name.upper()} "})
    assert taken.status_code == 400
    assert taken.json()["fields"] == {"name": ["Another profile has this name."]}
    assert Protocol.objects.count() == 1

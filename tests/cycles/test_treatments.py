"""Completing a session: the PREEMPT record, dose limits, lot expiry, waste modifiers,
adverse events and their flags, and treatments recorded from the past."""

from datetime import date

import pytest

from clinic.errors import Conflict, RuleViolation, ValidationFailed
from cycles import rules, treatments
from cycles.models import Course, Protocol, ReviewFlag, TreatmentRecord
from scheduling.models import Session
from tests.factories import ReviewFlagFactory, SessionFactory
from tests.scheduling.conftest import STANDARD, at, record_past, treatment_body

pytestmark = pytest.mark.usefixtures("now")

MONDAY = date(2027, 1, 4)


@pytest.fixture
def checked_in(patient, clinician, location):
    course = Course.objects.create(patient=patient, protocol_id=Protocol.default().id)
    return SessionFactory(
        patient=patient,
        course=course,
        clinician=clinician,
        location=location,
        start=at(MONDAY, 15),
        status=Session.Status.CHECKED_IN,
    )


def complete(session, user, treatment=None, adverse_events=(), notes="", **overrides):
    return treatments.session_complete(
        session=session,
        treatment=treatment if treatment is not None else treatment_body(**overrides),
        adverse_events=list(adverse_events),
        notes=notes,
        by=user,
    )


def test_the_standard_preempt_dose_is_recorded_as_155_units_at_31_sites(checked_in, clinician_user, clinician):
    session = complete(checked_in, clinician_user)
    assert session.status == Session.Status.COMPLETED
    assert session.cycle_number == 1
    record = TreatmentRecord.objects.get(session=session)
    assert record.total_units == 155 == sum(STANDARD.values())
    assert record.sites == 31
    assert record.units_by_muscle == STANDARD
    assert record.injector == clinician
    assert record.waste_modifier == "JZ"


def test_wasted_units_give_the_jw_modifier(checked_in, clinician_user):
    record = TreatmentRecord.objects.get(session=complete(checked_in, clinician_user, units_wasted=45))
    assert record.units_wasted == 45
    assert record.waste_modifier == "JW"


def test_follow_the_pain_up_to_195_units_is_allowed(checked_in, clinician_user):
    units = {**STANDARD, "temporalis": 50, "occipitalis": 40, "trapezius": 50}
    record = TreatmentRecord.objects.get(session=complete(checked_in, clinician_user, units_by_muscle=units, sites=39))
    assert record.total_units == 195


def test_more_than_max_units_is_a_dose_limit_and_nothing_is_written(checked_in, clinician_user):
    with pytest.raises(RuleViolation) as error:
        complete(checked_in, clinician_user, units_by_muscle={**STANDARD, "trapezius": 71})
    assert error.value.code == "dose_limit"
    assert Session.objects.get(pk=checked_in.pk).status == Session.Status.CHECKED_IN
    assert not TreatmentRecord.objects.exists()


HISTORY = "Imported from the referring clinic's records."


def test_over_400_units_within_90_days_is_a_dose_limit(patient, clinician, location, clinician_user, checked_in):
    record_past(
        patient,
        clinician,
        location,
        date(2026, 10, 7),
        clinician_user,
        units_by_muscle={**STANDARD, "trapezius": 70},
        deviation_reason=HISTORY,
    )
    record_past(
        patient,
        clinician,
        location,
        date(2026, 12, 1),
        clinician_user,
        units_by_muscle={"temporalis": 60},
        deviation_reason=HISTORY,
    )
    # 195 (89 days before) + 60 + 155 = 410 U inside one 90-day window.
    with pytest.raises(RuleViolation) as error:
        complete(checked_in, clinician_user)
    assert error.value.code == "dose_limit"
    assert error.value.extra["cumulative_units"] == 410


def test_a_treatment_90_days_earlier_falls_outside_the_window(patient, clinician, location, clinician_user, checked_in):
    record_past(
        patient,
        clinician,
        location,
        date(2026, 10, 6),
        clinician_user,
        units_by_muscle={**STANDARD, "trapezius": 70},
        deviation_reason=HISTORY,
    )
    record_past(
        patient,
        clinician,
        location,
        date(2026, 12, 1),
        clinician_user,
        units_by_muscle={"temporalis": 60},
        deviation_reason=HISTORY,
    )
    assert complete(checked_in, clinician_user).status == Session.Status.COMPLETED


def test_cumulative_peak_counts_any_window_of_the_given_days():
    new_year = date(2027, 1, 1)
    # 2027-04-01 is 90 days after New Year: a 90-day window starting on New Year ends the day before.
    assert rules.cumulative_peak(treatments=[(new_year, 100), (date(2027, 4, 1), 100)], days=90) == 100
    assert rules.cumulative_peak(treatments=[(new_year, 100), (date(2027, 3, 31), 100)], days=90) == 200
    assert (
        rules.cumulative_peak(treatments=[(date(2027, 3, 31), 50), (new_year, 100), (date(2027, 1, 30), 1)], days=30)
        == 101
    )
    assert rules.cumulative_peak(treatments=[], days=90) == 0


def test_an_expired_lot_is_refused(checked_in, clinician_user):
    with pytest.raises(ValidationFailed) as error:
        complete(checked_in, clinician_user, lot_expiry=date(2027, 1, 3))
    assert "treatment.lot_expiry" in error.value.fields
    assert Session.objects.get(pk=checked_in.pk).status == Session.Status.CHECKED_IN


def test_a_lot_expiring_on_the_treatment_date_is_still_usable(checked_in, clinician_user):
    assert complete(checked_in, clinician_user, lot_expiry=MONDAY).status == Session.Status.COMPLETED


def test_a_treatment_session_without_a_treatment_body_is_refused(checked_in, clinician_user):
    with pytest.raises(ValidationFailed) as error:
        treatments.session_complete(session=checked_in, treatment=None, adverse_events=[], notes="", by=clinician_user)
    assert "treatment" in error.value.fields


def test_a_consultation_completes_without_a_treatment(patient, clinician, location, clinician_user):
    session = SessionFactory(
        patient=patient,
        clinician=clinician,
        location=location,
        start=at(MONDAY, 15),
        kind=Session.Kind.CONSULTATION,
        status=Session.Status.CHECKED_IN,
    )
    done = treatments.session_complete(
        session=session, treatment=None, adverse_events=[], notes="talked", by=clinician_user
    )
    assert done.status == Session.Status.COMPLETED
    assert done.cycle_number is None
    assert done.notes == "talked"


@pytest.mark.parametrize(
    ("kind", "severity", "urgent"),
    [
        ("dysphagia", "mild", True),
        ("breathing_difficulty", "moderate", True),
        ("neck_pain", "serious", True),
        ("neck_pain", "mild", False),
        ("ptosis", "severe", False),
    ],
)
def test_urgent_adverse_events_open_a_review_flag_at_once(checked_in, clinician_user, kind, severity, urgent):
    session = complete(checked_in, clinician_user, adverse_events=[{"kind": kind, "severity": severity, "note": ""}])
    assert session.adverse_events.count() == 1
    flags = ReviewFlag.objects.filter(kind=ReviewFlag.Kind.ADVERSE_EVENT, status=ReviewFlag.Status.OPEN)
    if urgent:
        flag = flags.get()
        assert flag.cycle == session.cycle_number == 1
        assert flag.course == session.course
        assert flag.details["kind"] == kind
        assert flag.details["severity"] == severity
    else:
        assert not flags.exists()


def test_an_existing_open_adverse_event_flag_is_kept_not_duplicated(checked_in, clinician_user):
    ReviewFlagFactory(course=checked_in.course, kind=ReviewFlag.Kind.ADVERSE_EVENT, cycle=1, details={"events": []})
    complete(checked_in, clinician_user, adverse_events=[{"kind": "dysphagia", "severity": "mild"}])
    flag = ReviewFlag.objects.get(kind=ReviewFlag.Kind.ADVERSE_EVENT)
    assert flag.details["events"] == [{"kind": "dysphagia", "severity": "mild"}]


def test_an_open_no_benefit_flag_blocks_completion_until_resolved(checked_in, clinician_user):
    flag = ReviewFlagFactory(course=checked_in.course, kind=ReviewFlag.Kind.NO_BENEFIT, cycle=3)
    with pytest.raises(Conflict) as error:
        complete(checked_in, clinician_user)
    assert error.value.code == "review_required"
    flag.status = ReviewFlag.Status.RESOLVED
    flag.save()
    assert complete(checked_in, clinician_user).status == Session.Status.COMPLETED


def test_http_review_required_shows_on_the_session_and_completion_answers_409(checked_in, clinician_client):
    ReviewFlagFactory(course=checked_in.course, kind=ReviewFlag.Kind.NO_BENEFIT, cycle=3)
    assert clinician_client.get(f"/api/v1/sessions/{checked_in.id}/").json()["review_required"] is True
    response = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/complete/", {"treatment": treatment_body()}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "review_required"


def test_completion_enqueues_the_planner_after_commit(checked_in, clinician_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        complete(checked_in, clinician_user)
    assert len(callbacks) >= 1


# --- cycles and history ---------------------------------------------------------------------


def test_past_treatments_count_for_cycle_numbers(patient, clinician, location, clinician_user, checked_in):
    first = record_past(patient, clinician, location, date(2026, 4, 6), clinician_user)
    second = record_past(patient, clinician, location, date(2026, 6, 29), clinician_user)
    assert (first.cycle_number, second.cycle_number) == (1, 2)
    assert complete(checked_in, clinician_user).cycle_number == 3


def test_history_recorded_later_renumbers_the_cycles(patient, clinician, location, clinician_user, checked_in):
    today = complete(checked_in, clinician_user)
    assert today.cycle_number == 1
    older = record_past(patient, clinician, location, date(2026, 7, 1), clinician_user)
    assert older.cycle_number == 1
    assert Session.objects.get(pk=today.pk).cycle_number == 2


def test_http_a_clinician_records_a_past_treatment(patient, clinician, location, clinician_client):
    response = clinician_client.post(
        "/api/v1/sessions/",
        {
            "patient": str(patient.id),
            "clinician": str(clinician.id),
            "location": str(location.id),
            "start": "2026-10-13T10:00:00-04:00",
            "kind": "treatment",
            "status": "completed",
            "treatment": {**treatment_body(), "lot_expiry": "2027-01-31"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "completed"
    assert body["cycle_number"] == 1
    assert body["treatment"]["total_units"] == 155
    assert body["treatment"]["waste_modifier"] == "JZ"
    # It counts for the 12-week rule: a booking on day 83 is too soon.
    too_soon = clinician_client.post(
        "/api/v1/sessions/",
        {
            "patient": str(patient.id),
            "clinician": str(clinician.id),
            "location": str(location.id),
            "start": at(MONDAY, 15).isoformat(),
            "kind": "treatment",
        },
        format="json",
    )
    assert too_soon.status_code == 422
    assert too_soon.json()["earliest"] == "2027-01-05"


def test_http_front_desk_may_not_record_a_past_treatment(patient, clinician, location, front_desk_client):
    response = front_desk_client.post(
        "/api/v1/sessions/",
        {
            "patient": str(patient.id),
            "clinician": str(clinician.id),
            "location": str(location.id),
            "start": "2026-09-01T10:00:00-04:00",
            "kind": "treatment",
            "status": "completed",
            "treatment": treatment_body(),
        },
        format="json",
    )
    assert response.status_code == 403
    assert not Session.objects.exists()


def test_http_a_past_treatment_needs_a_treatment_body_and_a_past_start(patient, clinician, location, clinician_client):
    base = {
        "patient": str(patient.id),
        "clinician": str(clinician.id),
        "location": str(location.id),
        "kind": "treatment",
        "status": "completed",
    }
    missing = clinician_client.post("/api/v1/sessions/", {**base, "start": "2026-09-01T10:00:00-04:00"}, format="json")
    assert missing.status_code == 400
    assert "treatment" in missing.json()["fields"]
    future = clinician_client.post(
        "/api/v1/sessions/",
        {**base, "start": "2027-02-01T10:00:00-05:00", "treatment": treatment_body()},
        format="json",
    )
    assert future.status_code == 400
    assert "start" in future.json()["fields"]


def test_http_past_treatments_are_not_held_to_interval_or_eligibility(clinician, location, clinician_client):
    from tests.factories import PatientFactory

    newcomer = PatientFactory()  # no diary, no preventives: not eligible for a first booking
    for start in ("2026-09-01T10:00:00-04:00", "2026-09-22T10:00:00-04:00"):
        response = clinician_client.post(
            "/api/v1/sessions/",
            {
                "patient": str(newcomer.id),
                "clinician": str(clinician.id),
                "location": str(location.id),
                "start": start,
                "kind": "treatment",
                "status": "completed",
                "treatment": treatment_body(),
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
    assert list(Session.objects.order_by("start").values_list("cycle_number", flat=True)) == [1, 2]


def test_http_complete_with_an_expired_lot_is_400(checked_in, clinician_client):
    response = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/complete/",
        {"treatment": {**treatment_body(), "lot_expiry": "2026-12-31"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "treatment.lot_expiry" in response.json()["fields"]


def test_http_complete_with_unknown_muscles_or_adverse_event_kinds_is_400(checked_in, clinician_client):
    bad_muscle = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/complete/",
        {"treatment": {**treatment_body(), "units_by_muscle": {"deltoid": 10}}},
        format="json",
    )
    assert bad_muscle.status_code == 400
    assert "treatment.units_by_muscle" in bad_muscle.json()["fields"]
    bad_event = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/complete/",
        {"treatment": treatment_body(), "adverse_events": [{"kind": "rash", "severity": "mild"}]},
        format="json",
    )
    assert bad_event.status_code == 400
    assert "adverse_events.0.kind" in bad_event.json()["fields"]
    assert Session.objects.get(pk=checked_in.pk).status == Session.Status.CHECKED_IN


def test_http_complete_without_treatment_for_a_treatment_session_is_400(checked_in, clinician_client):
    response = clinician_client.post(f"/api/v1/sessions/{checked_in.id}/complete/", {"notes": "x"}, format="json")
    assert response.status_code == 400
    assert "treatment" in response.json()["fields"]


def test_http_complete_over_the_dose_limit_is_422(checked_in, clinician_client):
    response = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/complete/",
        {"treatment": {**treatment_body(), "units_by_muscle": {**STANDARD, "frontalis": 70}}},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "dose_limit"


def test_http_complete_returns_the_record_and_front_desk_never_sees_it(checked_in, clinician_client, front_desk_client):
    response = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/complete/",
        {
            "treatment": {**treatment_body(), "units_wasted": 45},
            "adverse_events": [{"kind": "neck_pain", "severity": "mild", "note": "day 2"}],
            "notes": "tolerated well",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "completed"
    assert body["cycle_number"] == 1
    assert body["treatment"]["waste_modifier"] == "JW"
    assert body["adverse_events"][0]["kind"] == "neck_pain"
    desk_view = front_desk_client.get(f"/api/v1/sessions/{checked_in.id}/").json()
    assert "treatment" not in desk_view
    assert "adverse_events" not in desk_view
    assert "notes" not in desk_view


def test_the_response_endpoint_uses_the_completed_treatments(
    patient, clinician, location, clinician_user, clinician_client
):
    past = record_past(patient, clinician, location, date(2026, 10, 13), clinician_user)
    response = clinician_client.get(f"/api/v1/patients/{patient.id}/response/")
    assert response.status_code == 200
    cycles = response.json()["cycles"]
    assert [c["session"] for c in cycles] == [str(past.id)]
    assert cycles[0]["treated_on"] == "2026-10-13"


def test_the_preempt_template_is_design_md_s_155_units_at_31_sites():
    # DESIGN.md §2: corrugator 2 sites/10 U, procerus 1/5, frontalis 4/20, temporalis 8/40, occipitalis 6/30,
    # cervical paraspinal 4/20, trapezius 6/30. Every other test imports TreatmentRecord.STANDARD_UNITS.
    assert TreatmentRecord.STANDARD_UNITS == {
        "corrugator": 10,
        "procerus": 5,
        "frontalis": 20,
        "temporalis": 40,
        "occipitalis": 30,
        "cervical_paraspinal": 20,
        "trapezius": 30,
    }
    assert sum(TreatmentRecord.STANDARD_UNITS.values()) == 155

"""Booking: working hours, time off, overlaps, the 12-week rule, eligibility and overrides."""

from datetime import date, timedelta

import pytest

from clinic.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from clinic.models import AuditLog
from clinic.roles import FRONT_DESK
from cycles.models import Course
from scheduling.models import Session
from scheduling.selectors import free_slots_for
from scheduling.services import session_book
from tests.factories import PatientFactory, SessionFactory, TimeOffFactory, UserFactory
from tests.scheduling.conftest import at, record_past

pytestmark = pytest.mark.usefixtures("now")

MONDAY = date(2027, 1, 4)
TUESDAY = date(2027, 1, 5)


@pytest.fixture
def desk(db):
    return UserFactory(username="desk", role=FRONT_DESK)


def book(patient, clinician, location, start, by, kind=Session.Kind.TREATMENT, **kwargs):
    return session_book(
        patient=patient, clinician=clinician, location=location, start=start, kind=kind, booked_by=by, **kwargs
    )


def test_a_booking_inside_working_hours_lasts_the_protocol_session_length_and_opens_a_course(
    patient, clinician, location, desk
):
    session = book(patient, clinician, location, at(TUESDAY, 9), desk)
    assert session.status == Session.Status.BOOKED
    assert session.end - session.start == timedelta(minutes=30)
    assert session.course.status == Course.Status.ACTIVE
    assert session.course.patient == patient
    assert session.booked_by == desk


def test_a_second_treatment_booking_reuses_the_active_course(patient, clinician, location, desk):
    first = book(patient, clinician, location, at(TUESDAY, 9), desk, kind=Session.Kind.CONSULTATION)
    second = book(patient, clinician, location, at(TUESDAY, 10), desk)
    assert first.course is None
    assert Course.objects.filter(patient=patient).count() == 1
    assert second.course.status == Course.Status.ACTIVE


def test_a_booking_may_start_off_the_slot_grid(patient, clinician, location, desk):
    assert book(patient, clinician, location, at(TUESDAY, 9, 10), desk).start == at(TUESDAY, 9, 10)


@pytest.mark.parametrize(
    ("hour", "minute"),
    [(8, 30), (8, 45), (16, 45), (17, 0), (20, 0)],
    ids=["before-opening", "straddles-opening", "straddles-closing", "at-closing", "evening"],
)
def test_a_booking_outside_working_hours_is_refused(patient, clinician, location, desk, hour, minute):
    with pytest.raises(Conflict) as error:
        book(patient, clinician, location, at(TUESDAY, hour, minute), desk)
    assert error.value.code == "slot_unavailable"
    assert not Session.objects.exists()


def test_a_booking_on_a_day_off_is_refused(patient, clinician, location, desk):
    with pytest.raises(Conflict) as error:
        book(patient, clinician, location, at(date(2027, 1, 9), 10), desk)  # a Saturday
    assert error.value.code == "slot_unavailable"


def test_a_booking_at_another_location_than_the_hours_is_refused(patient, clinician, desk):
    from tests.factories import LocationFactory

    elsewhere = LocationFactory(name="Brooklyn", time_zone="America/New_York")
    with pytest.raises(Conflict) as error:
        book(patient, clinician, elsewhere, at(TUESDAY, 10), desk)
    assert error.value.code == "slot_unavailable"


def test_a_booking_during_time_off_is_refused(patient, clinician, location, desk):
    TimeOffFactory(clinician=clinician, start=at(TUESDAY, 12), end=at(TUESDAY, 13))
    with pytest.raises(Conflict) as error:
        book(patient, clinician, location, at(TUESDAY, 12, 45), desk)
    assert error.value.code == "slot_unavailable"
    assert book(patient, clinician, location, at(TUESDAY, 13), desk).start == at(TUESDAY, 13)


def test_a_taken_slot_is_refused_even_when_the_overlap_is_partial(patient, clinician, location, desk):
    book(PatientFactory(), clinician, location, at(TUESDAY, 10), desk, kind=Session.Kind.CONSULTATION)
    with pytest.raises(Conflict) as error:
        book(patient, clinician, location, at(TUESDAY, 10, 15), desk)
    assert error.value.code == "slot_unavailable"
    assert Session.objects.count() == 1


def test_a_cancelled_session_frees_its_slot(patient, clinician, location, desk):
    from scheduling.services import session_cancel

    taken = book(PatientFactory(), clinician, location, at(TUESDAY, 10), desk, kind=Session.Kind.CONSULTATION)
    session_cancel(session=taken, reason="patient called", by=desk)
    assert book(patient, clinician, location, at(TUESDAY, 10), desk).status == Session.Status.BOOKED


def test_a_patient_cannot_be_with_two_clinicians_at_once(patient, clinician, other_clinician, location, desk):
    book(patient, clinician, location, at(TUESDAY, 10), desk, kind=Session.Kind.CONSULTATION)
    with pytest.raises(Conflict) as error:
        book(patient, other_clinician, location, at(TUESDAY, 10, 15), desk, kind=Session.Kind.REVIEW)
    assert error.value.code == "patient_busy"


def test_a_start_in_the_past_is_refused(patient, clinician, location, desk):
    with pytest.raises(ValidationFailed) as error:
        book(patient, clinician, location, at(MONDAY, 6), desk)
    assert "start" in error.value.fields


def test_a_naive_start_is_refused(patient, clinician, location, desk):
    from datetime import datetime

    with pytest.raises(ValidationFailed):
        book(patient, clinician, location, datetime(2027, 1, 5, 10), desk)


# --- the 12-week rule --------------------------------------------------------------------


@pytest.fixture
def treated(patient, clinician, location, clinician_user):
    """The patient's last completed treatment: Tuesday 2026-10-13, so day 84 is Tuesday 2027-01-05."""
    record_past(patient, clinician, location, date(2026, 10, 13), clinician_user)
    return patient


def test_a_treatment_on_day_83_is_too_soon_and_names_day_84(treated, clinician, location, desk):
    with pytest.raises(RuleViolation) as error:
        book(treated, clinician, location, at(MONDAY, 15), desk)
    assert error.value.code == "too_soon"
    assert error.value.extra["earliest"] == "2027-01-05"


def test_a_treatment_on_day_84_is_booked(treated, clinician, location, desk):
    assert book(treated, clinician, location, at(TUESDAY, 9), desk).status == Session.Status.BOOKED


def test_the_interval_counts_local_dates_not_24_hour_periods(patient, clinician, location, clinician_user, desk):
    # Treated at 16:30 on day 0; 09:00 on day 84 is less than 84 × 24 h later, and still allowed.
    record_past(patient, clinician, location, date(2026, 10, 13), clinician_user, hour=16)
    assert book(patient, clinician, location, at(TUESDAY, 9), desk).start == at(TUESDAY, 9)


def test_a_consultation_is_not_held_to_the_interval(treated, clinician, location, desk):
    session = book(treated, clinician, location, at(MONDAY, 15), desk, kind=Session.Kind.CONSULTATION)
    assert session.kind == Session.Kind.CONSULTATION


def test_a_clinician_may_override_the_interval_with_a_reason(treated, clinician, location, clinician_user):
    session = book(treated, clinician, location, at(MONDAY, 15), clinician_user, override_reason="travel abroad")
    assert session.override_reason == "travel abroad"


def test_front_desk_may_not_override(treated, clinician, location, desk):
    with pytest.raises(PermissionDenied):
        book(treated, clinician, location, at(MONDAY, 15), desk, override_reason="please")
    assert not Session.objects.filter(status=Session.Status.BOOKED).exists()


def test_a_patient_who_does_not_meet_the_protocol_is_not_eligible_for_a_first_treatment(clinician, location, desk):
    newcomer = PatientFactory()
    with pytest.raises(RuleViolation) as error:
        book(newcomer, clinician, location, at(TUESDAY, 10), desk)
    assert error.value.code == "not_eligible"
    assert error.value.extra["reasons"]
    assert not Session.objects.exists()


def test_a_clinician_may_override_eligibility_with_a_reason(clinician, location, clinician_user):
    newcomer = PatientFactory()
    session = book(newcomer, clinician, location, at(TUESDAY, 10), clinician_user, override_reason="MDT decision")
    assert session.status == Session.Status.BOOKED


def test_eligibility_is_not_asked_again_once_the_course_has_a_treatment(clinician, location, clinician_user, desk):
    newcomer = PatientFactory()
    record_past(newcomer, clinician, location, date(2026, 9, 1), clinician_user)
    assert book(newcomer, clinician, location, at(TUESDAY, 10), desk).status == Session.Status.BOOKED


# --- over HTTP ------------------------------------------------------------------------------


def post_session(client, patient, clinician, location, start, **extra):
    return client.post(
        "/api/v1/sessions/",
        {
            "patient": str(patient.id),
            "clinician": str(clinician.id),
            "location": str(location.id),
            "start": start.isoformat(),
            "kind": "treatment",
            **extra,
        },
        format="json",
    )


def test_http_day_83_answers_422_too_soon_with_earliest(treated, clinician, location, front_desk_client):
    response = post_session(front_desk_client, treated, clinician, location, at(MONDAY, 15))
    assert response.status_code == 422
    assert response.json()["code"] == "too_soon"
    assert response.json()["earliest"] == "2027-01-05"
    assert set(response.json()) >= {"code", "detail", "earliest"}


def test_http_day_84_answers_201_with_the_session(treated, clinician, location, front_desk_client):
    response = post_session(front_desk_client, treated, clinician, location, at(TUESDAY, 9))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["start"] == "2027-01-05T14:00:00Z"
    assert body["end"] == "2027-01-05T14:30:00Z"
    assert body["status"] == "booked"
    assert body["cycle_number"] is None
    assert body["auto_booked"] is False
    assert {"id", "patient", "clinician", "location", "kind", "created_at"} <= set(body)
    assert AuditLog.objects.filter(action="create", resource="session", patient_id=treated.id).exists()


def test_http_a_clinician_override_answers_201_and_writes_an_override_audit_row(
    treated, clinician, location, clinician_client
):
    response = post_session(clinician_client, treated, clinician, location, at(MONDAY, 15), override_reason="abroad")
    assert response.status_code == 201, response.json()
    row = AuditLog.objects.get(action="override", patient_id=treated.id)
    assert row.detail == "abroad"
    assert row.user == clinician_client.user
    assert row.object_id == response.json()["id"]


def test_http_front_desk_sending_an_override_reason_answers_403(treated, clinician, location, front_desk_client):
    response = post_session(front_desk_client, treated, clinician, location, at(MONDAY, 15), override_reason="pls")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Session.objects.filter(status="booked").exists()


def test_http_not_eligible_names_the_reasons(clinician, location, front_desk_client):
    response = post_session(front_desk_client, PatientFactory(), clinician, location, at(TUESDAY, 10))
    assert response.status_code == 422
    assert response.json()["code"] == "not_eligible"
    assert isinstance(response.json()["reasons"], list) and response.json()["reasons"]


def test_http_a_start_without_an_offset_is_a_validation_error(patient, clinician, location, front_desk_client):
    response = front_desk_client.post(
        "/api/v1/sessions/",
        {
            "patient": str(patient.id),
            "clinician": str(clinician.id),
            "location": str(location.id),
            "start": "2027-01-05T10:00:00",
            "kind": "treatment",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "start" in response.json()["fields"]


def test_http_a_start_in_the_past_is_a_validation_error(patient, clinician, location, front_desk_client):
    response = post_session(front_desk_client, patient, clinician, location, at(date(2026, 12, 1), 10))
    assert response.status_code == 400
    assert "start" in response.json()["fields"]


def test_http_slot_unavailable_and_patient_busy_are_409(
    patient, clinician, other_clinician, location, front_desk_client
):
    assert post_session(front_desk_client, patient, clinician, location, at(TUESDAY, 10)).status_code == 201
    taken = post_session(front_desk_client, PatientFactory(), clinician, location, at(TUESDAY, 10), kind="consultation")
    assert taken.status_code == 409
    assert taken.json()["code"] == "slot_unavailable"
    busy = post_session(front_desk_client, patient, other_clinician, location, at(TUESDAY, 10), kind="review")
    assert busy.status_code == 409
    assert busy.json()["code"] == "patient_busy"


def test_http_an_explicit_end_sets_the_length(patient, clinician, location, front_desk_client):
    response = post_session(
        front_desk_client, patient, clinician, location, at(TUESDAY, 10), end=at(TUESDAY, 11).isoformat()
    )
    assert response.status_code == 201
    assert response.json()["end"] == "2027-01-05T16:00:00Z"


def test_http_unknown_ids_are_validation_errors(clinician, location, front_desk_client):
    import uuid

    response = front_desk_client.post(
        "/api/v1/sessions/",
        {
            "patient": str(uuid.uuid4()),
            "clinician": str(clinician.id),
            "location": str(location.id),
            "start": at(TUESDAY, 10).isoformat(),
            "kind": "treatment",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "patient" in response.json()["fields"]


def test_a_treatment_after_the_booking_window_is_booked_but_marked_late(treated, clinician, location, desk):
    # Last treatment 2026-10-13: the window runs from day 84 to day 98 (2027-01-19).
    on_day_98 = book(treated, clinician, location, at(date(2027, 1, 19), 9), desk)
    assert on_day_98.late is False
    from scheduling.services import session_cancel, session_reschedule

    moved = session_reschedule(session=on_day_98, start=at(date(2027, 1, 20), 9), by=desk)
    assert moved.late is True
    session_cancel(session=moved, reason="test", by=desk)
    assert book(treated, clinician, location, at(date(2027, 1, 20), 10), desk).late is True


def test_a_session_longer_than_twelve_hours_is_refused(patient, clinician, location, desk):
    # The bound lets the busy-time query use the index on start (docs/PERFORMANCE.md, slot search).
    start = at(TUESDAY, 9)
    with pytest.raises(ValidationFailed) as error:
        book(patient, clinician, location, start, desk, kind=Session.Kind.CONSULTATION, end=start + timedelta(hours=13))
    assert "end" in error.value.fields
    assert not Session.objects.exists()


def test_a_long_session_that_began_before_the_window_still_blocks_it(clinician, location, desk):
    # An overnight session from Tuesday 22:00 to Wednesday 09:30 (within the 12-hour bound) begins before
    # Wednesday's window does, and still makes the clinician's 09:00 slot on Wednesday busy.
    wednesday = TUESDAY + timedelta(days=1)
    SessionFactory(clinician=clinician, location=location, start=at(TUESDAY, 22), end=at(wednesday, 9, 30))
    free = free_slots_for(location=location, start_date=wednesday, end_date=wednesday)
    mine = sorted(s.start for s in free if s.clinician_id == clinician.pk)
    assert mine[0] == at(wednesday, 9, 30)

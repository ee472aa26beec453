"""API.md, Slots and sessions: booking, the lifecycle, completion and its rules."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from scheduling.models import Session
from tests.contract.common import (
    API,
    NOW,
    STANDARD,
    assert_error,
    assert_page,
    assert_session,
    book_body,
    iso,
    ny,
    treated,
    treatment_body,
)
from tests.factories import PatientFactory, SessionFactory, TimeOffFactory
from tests.scheduling.conftest import make_eligible

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["front_desk_client", "clinician_client"])
def test_booking_answers_201_with_the_session_lasting_session_minutes(request, role, patient, clinician, location):
    client = request.getfixturevalue(role)
    response = client.post(f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 11), 10)))
    assert response.status_code == 201, response.json()
    body = assert_session(response.json())
    assert datetime.fromisoformat(body["start"]) == ny(date(2027, 1, 11), 10)
    assert datetime.fromisoformat(body["end"]) == ny(date(2027, 1, 11), 10, 30)
    assert (body["status"], body["kind"], body["auto_booked"]) == ("booked", "treatment", False)
    assert body["cycle_number"] is None
    assert assert_session(client.get(f"{API}/sessions/{body['id']}/").json())["id"] == body["id"]


def test_a_given_end_sets_the_length_and_an_off_grid_start_is_fine(front_desk_client, patient, clinician, location):
    start = ny(date(2027, 1, 11), 10, 7)
    body = book_body(patient, clinician, location, start, end=iso(start + timedelta(minutes=45)), kind="consultation")
    response = front_desk_client.post(f"{API}/sessions/", body)
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["end"]) == start + timedelta(minutes=45)


def test_a_start_in_another_offset_is_the_same_instant(front_desk_client, patient, clinician, location):
    body = book_body(patient, clinician, location, ny(date(2027, 1, 11), 10))
    body["start"] = "2027-01-11T15:00:00Z"
    response = front_desk_client.post(f"{API}/sessions/", body)
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["start"]) == ny(date(2027, 1, 11), 10)


@pytest.mark.parametrize("start", ["2027-01-11T10:00:00", "2027-01-11T10:00", "2027-01-11 10:00:00", "2027-01-11"])
def test_a_start_without_an_offset_is_400(front_desk_client, patient, clinician, location, start):
    body = {**book_body(patient, clinician, location, ny(date(2027, 1, 11), 10)), "start": start}
    assert "start" in assert_error(front_desk_client.post(f"{API}/sessions/", body), 400, "validation_error")["fields"]
    assert not Session.objects.exists()


def test_a_start_in_the_past_is_400_for_front_desk_and_clinicians(
    front_desk_client, clinician_client, patient, clinician, location
):
    body = book_body(patient, clinician, location, NOW - timedelta(hours=1))
    for client in (front_desk_client, clinician_client):
        response = client.post(f"{API}/sessions/", body)
        assert "start" in assert_error(response, 400, "validation_error")["fields"]


def test_slot_unavailable_patient_busy_are_409_without_fields(
    front_desk_client, patient, clinician, other_clinician, location
):
    start = ny(date(2027, 1, 11), 10)
    assert front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, start)).status_code == 201
    other = make_eligible(PatientFactory())
    assert_error(
        front_desk_client.post(
            f"{API}/sessions/", book_body(other, clinician, location, start + timedelta(minutes=15))
        ),
        409,
        "slot_unavailable",
    )
    assert_error(
        front_desk_client.post(
            f"{API}/sessions/", book_body(patient, other_clinician, location, start, kind="consultation")
        ),
        409,
        "patient_busy",
    )
    # outside working hours and on time off are slot_unavailable too
    assert_error(
        front_desk_client.post(
            f"{API}/sessions/", book_body(other, clinician, location, ny(date(2027, 1, 11), 16, 45))
        ),
        409,
        "slot_unavailable",
    )
    TimeOffFactory(clinician=clinician, start=ny(date(2027, 1, 12), 0), end=ny(date(2027, 1, 13), 0))
    assert_error(
        front_desk_client.post(f"{API}/sessions/", book_body(other, clinician, location, ny(date(2027, 1, 12), 10))),
        409,
        "slot_unavailable",
    )


def test_too_soon_is_422_with_earliest_the_local_date_of_the_last_treatment_plus_min_interval(
    front_desk_client, clinician_client, patient, clinician, location
):
    # 23:30 in New York is already the next day in UTC: `earliest` counts from the local date
    treated(patient, clinician, location, date(2026, 10, 20), hour=16)
    earliest = date(2026, 10, 20) + timedelta(days=84)  # 2027-01-12
    response = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 11), 10))
    )
    body = assert_error(response, 422, "too_soon")
    assert body["earliest"] == earliest.isoformat()
    ok = front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, ny(earliest, 10)))
    assert ok.status_code == 201


def test_a_clinician_overrides_too_soon_with_a_reason_and_front_desk_gets_403(
    front_desk_client, clinician_client, patient, clinician, location
):
    treated(patient, clinician, location, date(2026, 12, 1))
    body = book_body(patient, clinician, location, ny(date(2027, 1, 11), 10), override_reason="flare, payer agreed")
    assert_error(front_desk_client.post(f"{API}/sessions/", body), 403, "permission_denied")
    assert not Session.objects.filter(status="booked").exists()
    assert clinician_client.post(f"{API}/sessions/", body).status_code == 201


def test_front_desk_sending_any_override_reason_is_403_even_when_none_is_needed(
    front_desk_client, patient, clinician, location
):
    body = book_body(patient, clinician, location, ny(date(2027, 1, 11), 10), override_reason="just in case")
    assert_error(front_desk_client.post(f"{API}/sessions/", body), 403, "permission_denied")


def test_not_eligible_is_422_with_reasons_and_a_clinician_may_override(
    front_desk_client, clinician_client, clinician, location
):
    newcomer = PatientFactory()
    body = book_body(newcomer, clinician, location, ny(date(2027, 1, 11), 10))
    out = assert_error(front_desk_client.post(f"{API}/sessions/", body), 422, "not_eligible")
    assert isinstance(out["reasons"], list) and out["reasons"]
    assert all(isinstance(r, str) for r in out["reasons"])
    body["override_reason"] = "specialist decision"
    assert clinician_client.post(f"{API}/sessions/", body).status_code == 201


def test_a_clinician_records_a_past_completed_treatment_without_too_soon_or_eligibility(
    clinician_client, front_desk_client, clinician, location
):
    newcomer = PatientFactory()  # not eligible, and treated 30 days ago already
    treated(newcomer, clinician, location, date(2026, 11, 20))
    body = book_body(
        newcomer, clinician, location, ny(date(2026, 12, 21), 10), status="completed", treatment=treatment_body()
    )
    assert_error(front_desk_client.post(f"{API}/sessions/", body), 403, "permission_denied")
    response = clinician_client.post(f"{API}/sessions/", body)
    assert response.status_code == 201, response.json()
    out = assert_session(response.json())
    assert out["status"] == "completed" and out["cycle_number"] == 2
    future = {**body, "start": iso(ny(date(2027, 1, 11), 10))}
    assert "start" in assert_error(clinician_client.post(f"{API}/sessions/", future), 400, "validation_error")["fields"]


def test_the_session_list_filters_and_shows_the_contract_fields(
    front_desk_client, booked, patient, clinician, location
):
    SessionFactory(start=ny(date(2027, 2, 1), 10), kind="consultation")
    params = {
        "patient": str(patient.id),
        "clinician": str(clinician.id),
        "location": str(location.id),
        "from": "2027-01-11",
        "to": "2027-01-11",
        "status": "booked",
        "kind": "treatment",
    }
    [row] = assert_page(front_desk_client.get(f"{API}/sessions/", params))
    assert assert_session(row)["id"] == str(booked.id)
    assert assert_page(front_desk_client.get(f"{API}/sessions/", {**params, "to": "2027-01-10"})) == []
    assert len(assert_page(front_desk_client.get(f"{API}/sessions/"))) == 2


def test_reschedule_answers_200_and_may_change_the_clinician(front_desk_client, booked, other_clinician):
    response = front_desk_client.post(
        f"{API}/sessions/{booked.id}/reschedule/",
        {"start": iso(ny(date(2027, 1, 12), 14)), "clinician": str(other_clinician.id)},
    )
    assert response.status_code == 200
    body = assert_session(response.json())
    assert body["clinician"] == str(other_clinician.id)
    assert datetime.fromisoformat(body["start"]) == ny(date(2027, 1, 12), 14)
    assert datetime.fromisoformat(body["end"]) == ny(date(2027, 1, 12), 14, 30)


def test_reschedule_runs_the_booking_checks(front_desk_client, booked, patient, clinician, location):
    url = f"{API}/sessions/{booked.id}/reschedule/"
    assert_error(front_desk_client.post(url, {"start": "2027-01-12T14:00:00"}), 400, "validation_error")
    assert_error(front_desk_client.post(url, {"start": iso(NOW - timedelta(hours=1))}), 400, "validation_error")
    assert_error(front_desk_client.post(url, {"start": iso(ny(date(2027, 1, 12), 18))}), 409, "slot_unavailable")
    SessionFactory(clinician=clinician, location=location, start=ny(date(2027, 1, 13), 10))
    assert_error(front_desk_client.post(url, {"start": iso(ny(date(2027, 1, 13), 10, 15))}), 409, "slot_unavailable")
    treated(patient, clinician, location, date(2026, 10, 20))  # earliest next: 2027-01-12
    body = assert_error(front_desk_client.post(url, {"start": iso(ny(date(2027, 1, 11), 14))}), 422, "too_soon")
    assert body["earliest"] == "2027-01-12"


def test_reschedule_takes_a_clinicians_override_reason_like_booking(
    front_desk_client, clinician_client, booked, patient, clinician, location
):
    # "same checks as booking": so the same way past too_soon, and front desk sending one → 403
    treated(patient, clinician, location, date(2026, 10, 20))  # earliest next: 2027-01-12
    url = f"{API}/sessions/{booked.id}/reschedule/"
    body = {"start": iso(ny(date(2027, 1, 11), 14)), "override_reason": "flare, payer agreed"}
    assert_error(front_desk_client.post(url, body), 403, "permission_denied")
    response = clinician_client.post(url, body)
    assert response.status_code == 200, response.json()
    assert datetime.fromisoformat(response.json()["start"]) == ny(date(2027, 1, 11), 14)
    assert Session.objects.get(pk=booked.pk).override_reason == "flare, payer agreed"


def test_cancel_answers_200_and_skips_pending_reminders_as_session_cancelled(
    front_desk_client, patient, clinician, location
):
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 20), 10))
    )
    session_id = created.json()["id"]
    call_command("run_jobs")
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": session_id, "status": "pending"}))
    assert any(r["purpose"] == "reminder" for r in rows)
    response = front_desk_client.post(f"{API}/sessions/{session_id}/cancel/", {"reason": "patient called"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": session_id}))
    reminders = [r for r in rows if r["purpose"] == "reminder"]
    assert reminders and all((r["status"], r["skip_reason"]) == ("skipped", "session_cancelled") for r in reminders)
    # a cancelled session cannot be cancelled again
    assert_error(
        front_desk_client.post(f"{API}/sessions/{session_id}/cancel/", {"reason": "x"}), 409, "invalid_transition"
    )


def test_check_in_only_on_the_local_date(front_desk_client, _now, booked):
    url = f"{API}/sessions/{booked.id}/check-in/"
    _now.move_to(datetime(2027, 1, 11, 4, 30, tzinfo=UTC))  # 23:30 on the 10th in New York
    assert_error(front_desk_client.post(url), 409, "invalid_transition")
    _now.move_to(ny(date(2027, 1, 11), 0, 5))
    response = front_desk_client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "checked_in"


def test_no_show_only_after_the_start(front_desk_client, _now, booked):
    url = f"{API}/sessions/{booked.id}/no-show/"
    _now.move_to(ny(date(2027, 1, 11), 9, 59))
    assert_error(front_desk_client.post(url), 409, "invalid_transition")
    _now.move_to(ny(date(2027, 1, 11), 10, 1))
    response = front_desk_client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "no_show"


def test_complete_needs_checked_in_whatever_the_hour_and_a_clinician(front_desk_client, clinician_client, _now, booked):
    url = f"{API}/sessions/{booked.id}/complete/"
    body = {"treatment": treatment_body(), "adverse_events": [], "notes": ""}
    assert_error(clinician_client.post(url, body), 409, "invalid_transition")  # still booked
    _now.move_to(ny(date(2027, 1, 11), 8))
    assert front_desk_client.post(f"{API}/sessions/{booked.id}/check-in/").status_code == 200
    assert_error(front_desk_client.post(url, body), 403, "permission_denied")
    response = clinician_client.post(url, body)  # 08:00, before the booked start: fine
    assert response.status_code == 200, response.json()
    out = assert_session(response.json())
    assert (out["status"], out["cycle_number"]) == ("completed", 1)


def test_complete_takes_every_muscle_kind_and_severity_named_by_the_contract(clinician_client, _now, booked):
    _now.move_to(ny(date(2027, 1, 11), 9))
    booked.status = Session.Status.CHECKED_IN
    booked.save()
    kinds = [
        "neck_pain",
        "ptosis",
        "dysphagia",
        "injection_site_pain",
        "headache_flare",
        "muscle_weakness",
        "breathing_difficulty",
        "other",
    ]
    severities = ["mild", "moderate", "severe", "serious"]
    events = [{"kind": kind, "severity": severities[i % 4], "note": ""} for i, kind in enumerate(kinds)]
    response = clinician_client.post(
        f"{API}/sessions/{booked.id}/complete/",
        {"treatment": treatment_body(), "adverse_events": events, "notes": "ok"},
    )
    assert response.status_code == 200, response.json()


def test_complete_refuses_a_treatment_without_a_body_an_expired_lot_and_too_many_units(clinician_client, _now, booked):
    _now.move_to(ny(date(2027, 1, 11), 9))
    booked.status = Session.Status.CHECKED_IN
    booked.save()
    url = f"{API}/sessions/{booked.id}/complete/"
    assert_error(clinician_client.post(url, {"adverse_events": [], "notes": ""}), 400, "validation_error")
    expired = treatment_body(lot_expiry="2027-01-10")
    assert_error(clinician_client.post(url, {"treatment": expired}), 400, "validation_error")
    heavy = treatment_body(units_by_muscle={**STANDARD, "trapezius": 100})
    assert_error(clinician_client.post(url, {"treatment": heavy}), 422, "dose_limit")
    bad_kind = {"treatment": treatment_body(), "adverse_events": [{"kind": "rash", "severity": "mild", "note": ""}]}
    assert_error(clinician_client.post(url, bad_kind), 400, "validation_error")
    assert Session.objects.get(pk=booked.pk).status == "checked_in"

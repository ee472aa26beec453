"""API.md, Due list and review."""

from datetime import date

import pytest

from cycles.models import Course, ReviewFlag
from tests.contract.common import (
    API,
    DUE_FIELDS,
    FLAG_FIELDS,
    assert_error,
    assert_page,
    book_body,
    is_aware_datetime,
    ny,
    treated,
)
from tests.factories import PatientFactory, ReviewFlagFactory
from tests.scheduling.conftest import make_eligible

pytestmark = pytest.mark.django_db


def test_the_due_list_rows_have_the_contract_fields_and_dates(front_desk_client, clinician, location):
    last = treated(PatientFactory(), clinician, location, date(2026, 10, 20), hour=20)  # 01:00 UTC the next day
    [row] = assert_page(front_desk_client.get(f"{API}/due/"))
    assert set(row) >= DUE_FIELDS
    assert row["patient"] == str(last.patient_id) and row["course"] == str(last.course_id)
    assert row["last_treatment"] == "2026-10-20"
    assert row["due_from"] == "2027-01-12"  # + min_interval_days
    assert row["due_by"] == "2027-01-26"  # + interval_days + window_days
    assert row["overdue"] is False
    # The default profile asks for no prior authorisation.
    assert row["authorization"] == {"status": "not_required", "valid_to": None, "treatments_left": None}


def test_within_days_counts_from_the_locations_today_and_includes_the_overdue(front_desk_client, clinician, location):
    # today is 2027-01-04 in New York; default within_days=14 reaches due_from 2027-01-18
    edge = treated(PatientFactory(), clinician, location, date(2026, 10, 26))  # due_from 2027-01-18
    beyond = treated(PatientFactory(), clinician, location, date(2026, 10, 27))  # due_from 2027-01-19
    late = treated(PatientFactory(), clinician, location, date(2026, 9, 1))  # due_by 2026-12-08: overdue
    rows = {r["patient"]: r for r in assert_page(front_desk_client.get(f"{API}/due/"))}
    assert set(rows) == {str(edge.patient_id), str(late.patient_id)}
    assert rows[str(late.patient_id)]["overdue"] is True
    rows = assert_page(front_desk_client.get(f"{API}/due/", {"within_days": 15}))
    assert str(beyond.patient_id) in {r["patient"] for r in rows}
    assert {r["patient"] for r in assert_page(front_desk_client.get(f"{API}/due/", {"within_days": 0}))} == {
        str(late.patient_id)
    }


def test_overdue_starts_the_day_after_due_by(front_desk_client, clinician, location):
    on_time = treated(PatientFactory(), clinician, location, date(2026, 9, 28))  # due_by 2027-01-04: today
    over = treated(PatientFactory(), clinician, location, date(2026, 9, 27))  # due_by 2027-01-03
    rows = {r["patient"]: r["overdue"] for r in assert_page(front_desk_client.get(f"{API}/due/"))}
    assert rows == {str(on_time.patient_id): False, str(over.patient_id): True}


def test_a_future_treatment_booked_takes_a_patient_off_the_due_list(front_desk_client, clinician, location):
    last = treated(make_eligible(PatientFactory()), clinician, location, date(2026, 10, 20))
    assert len(assert_page(front_desk_client.get(f"{API}/due/"))) == 1
    response = front_desk_client.post(
        f"{API}/sessions/", book_body(last.patient, clinician, location, ny(date(2027, 1, 12), 10))
    )
    assert response.status_code == 201
    assert assert_page(front_desk_client.get(f"{API}/due/")) == []


def test_review_flags_have_the_contract_fields(clinician_client, front_desk_client):
    flag = ReviewFlagFactory(details={"baseline": 20.0, "cycle": 12.5})
    [row] = assert_page(clinician_client.get(f"{API}/review-flags/", {"status": "open", "kind": "no_benefit"}))
    assert set(row) >= FLAG_FIELDS
    assert (row["id"], row["patient"], row["kind"], row["cycle"], row["status"]) == (
        str(flag.id),
        str(flag.patient_id),
        "no_benefit",
        3,
        "open",
    )
    assert row["details"] == {"baseline": 20.0, "cycle": 12.5}
    assert is_aware_datetime(row["raised_at"])
    assert_error(front_desk_client.get(f"{API}/review-flags/"), 403, "permission_denied")


@pytest.mark.parametrize("decision", ["continue", "stop", "adjust_dose", "other"])
def test_each_decision_resolves_a_flag(clinician_client, decision):
    flag = ReviewFlagFactory()
    response = clinician_client.post(f"{API}/review-flags/{flag.id}/resolve/", {"decision": decision, "note": "seen"})
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"]) == (str(flag.id), "resolved")
    assert ReviewFlag.objects.get(pk=flag.pk).decision == decision
    stopped = Course.objects.get(pk=flag.course_id).status == Course.Status.STOPPED
    assert stopped is (decision == "stop")


def test_stop_cancels_the_courses_future_sessions(clinician_client, booked):
    flag = ReviewFlagFactory(course=booked.course)
    assert (
        clinician_client.post(f"{API}/review-flags/{flag.id}/resolve/", {"decision": "stop", "note": ""}).status_code
        == 200
    )
    assert clinician_client.get(f"{API}/sessions/{booked.id}/").json()["status"] == "cancelled"

"""GET /api/v1/notifications/: fields, filters, roles, pagination and pinned queries."""

from datetime import date

import pytest

from clinic.models import AuditLog
from notifications.models import Notification
from scheduling.services import session_cancel
from tests.factories import PatientFactory
from tests.notifications.conftest import at, book

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


def test_staff_see_a_booked_sessions_pending_reminders_without_bodies(
    now, front_desk_client, patient, clinician, location
):
    session = book(patient, clinician, location, at(date(2027, 3, 15), 10))
    response = front_desk_client.get(URL, {"session": str(session.id)})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert not {"body", "subject", "text", "html"} & set(body["results"][0])  # the fields are the contract tests'
    reminders = [r for r in body["results"] if r["purpose"] == "reminder"]
    assert {(r["channel"], r["status"], r["due_at"]) for r in reminders} == {
        ("email", "pending", "2027-03-08T10:00:00Z"),
        ("email", "pending", "2027-03-14T10:00:00Z"),
        ("sms", "pending", "2027-03-14T10:00:00Z"),
    }


def test_cancelling_shows_the_reminders_as_skipped_session_cancelled(
    now, clinician_client, patient, clinician, location
):
    session = book(patient, clinician, location, at(date(2027, 3, 15), 10))
    session_cancel(session=session, reason="away", by=None)
    body = clinician_client.get(URL, {"session": str(session.id), "status": "skipped"}).json()
    assert body["count"] == 4
    assert {r["skip_reason"] for r in body["results"]} == {"session_cancelled"}


def test_filters_by_patient(now, front_desk_client, patient, clinician, location):
    book(patient, clinician, location, at(date(2027, 3, 15), 10))
    other = PatientFactory()
    book(other, clinician, location, at(date(2027, 3, 15), 11))
    body = front_desk_client.get(URL, {"patient": str(other.id)}).json()
    assert body["count"] == 4
    assert {r["patient"] for r in body["results"]} == {str(other.id)}


@pytest.mark.parametrize("params", [{"patient": "not-a-uuid"}, {"status": "lost"}, {"session": "12"}])
def test_bad_filters_are_a_400_naming_the_field(front_desk_client, params):
    response = front_desk_client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["fields"]) == set(params)


def test_anonymous_is_401(anon_client):
    response = anon_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_list_is_audited_per_patient(now, front_desk_client, patient, clinician, location):
    book(patient, clinician, location, at(date(2027, 3, 15), 10))
    front_desk_client.get(URL)
    assert list(AuditLog.objects.filter(resource="notification").values_list("patient_id", flat=True)) == [patient.id]


def test_the_list_runs_a_constant_number_of_queries(
    now, front_desk_client, clinician, location, django_assert_num_queries
):
    for hour in (9, 10):
        book(PatientFactory(), clinician, location, at(date(2027, 3, 15), hour))
    # 1 the token with its user and roles, 2 count, 3 the page of rows, 4 audit insert
    with django_assert_num_queries(4):
        assert front_desk_client.get(URL).json()["count"] == 8
    for hour in (11, 12, 13, 14):
        book(PatientFactory(), clinician, location, at(date(2027, 3, 15), hour))
    with django_assert_num_queries(4):
        assert front_desk_client.get(URL).json()["count"] == 24


def test_pages_hold_at_most_page_size_rows(now, front_desk_client, patient, clinician, location):
    book(patient, clinician, location, at(date(2027, 3, 15), 10))
    body = front_desk_client.get(URL, {"page_size": 3}).json()
    assert (body["count"], len(body["results"])) == (4, 3)
    assert body["next"] is not None
    assert Notification.objects.count() == 4

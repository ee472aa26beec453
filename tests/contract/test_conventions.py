"""API.md, Conventions: the error shape of every error, and pagination of every list."""

import uuid
from datetime import date

import pytest

from patients.models import Patient
from tests.contract.common import (
    API,
    LISTS,
    assert_error,
    assert_page,
    is_uuid,
)
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


def test_no_credentials_and_a_bad_token_are_401_not_authenticated_without_fields(anon_client):
    assert_error(anon_client.get(f"{API}/patients/"), 401, "not_authenticated")
    anon_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(anon_client.get(f"{API}/patients/"), 401, "not_authenticated")


def test_a_browser_session_authenticates_too(client, front_desk_user):
    client.force_login(front_desk_user)
    assert client.get(f"{API}/patients/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/patients/{x}/",
        "/patients/{x}/preventives/",
        "/patients/{x}/diary/",
        "/patients/{x}/response/",
        "/patients/{x}/eligibility/",
        "/patients/{x}/fhir/",
        "/clinicians/{x}/",
        "/clinicians/{x}/working-hours/",
        "/clinicians/{x}/time-off/",
        "/sessions/{x}/",
    ],
)
@pytest.mark.parametrize("ident", ["unknown-uuid", "not-a-uuid", "12345"])
def test_an_unknown_or_malformed_id_is_404_not_found(clinician_client, path, ident):
    value = str(uuid.uuid4()) if ident == "unknown-uuid" else ident
    assert_error(clinician_client.get(API + path.format(x=value)), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/sessions/{x}/reschedule/",
        "/sessions/{x}/cancel/",
        "/sessions/{x}/check-in/",
        "/sessions/{x}/no-show/",
        "/sessions/{x}/complete/",
        "/review-flags/{x}/resolve/",
    ],
)
@pytest.mark.parametrize("ident", ["unknown-uuid", "not-a-uuid"])
def test_an_action_on_an_unknown_or_malformed_id_is_404_not_found(clinician_client, path, ident):
    value = str(uuid.uuid4()) if ident == "unknown-uuid" else ident
    response = clinician_client.post(API + path.format(x=value), {"start": "2027-02-01T10:00:00-05:00"})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/patients/"),
        ("put", "/protocol/"),
        ("post", "/slots/"),
        ("get", "/sessions/{session}/cancel/"),
        ("delete", "/sessions/{session}/"),
        ("post", "/due/"),
        ("post", "/notifications/"),
        ("get", "/auth/token/"),
    ],
)
def test_a_method_the_contract_does_not_name_is_405_in_the_json_shape(clinic_admin_client, method, path):
    session = SessionFactory()
    response = getattr(clinic_admin_client, method)(API + path.format(session=session.id))
    assert_error(response, 405, "method_not_allowed")


def test_malformed_json_is_400_validation_error_with_fields(front_desk_client):
    response = front_desk_client.post(f"{API}/patients/", "{not json", content_type="application/json")
    assert_error(response, 400, "validation_error")


def test_validation_errors_name_every_bad_field(front_desk_client):
    response = front_desk_client.post(f"{API}/patients/", {"mrn": "", "email": "nope", "time_zone": "Mars/Base"})
    body = assert_error(response, 400, "validation_error")
    assert {"mrn", "email", "time_zone", "given_name", "family_name"} <= set(body["fields"])


@pytest.mark.parametrize("path", LISTS)
def test_every_list_is_paginated_with_count_next_previous_results(
    clinician_client, everything, clinician, patient, path
):
    url = API + path.format(clinician=clinician.id, patient=patient.id)
    rows = assert_page(clinician_client.get(url))
    assert rows, f"{path} should have a row in this world"
    body = clinician_client.get(url, {"page_size": 1}).json()
    assert len(body["results"]) == 1
    if body["count"] > 1:
        assert "page=2" in body["next"]
        second = clinician_client.get(body["next"]).json()
        assert second["previous"] is not None
    for row in rows:
        assert is_uuid(row["id"]) if "id" in row else is_uuid(row["patient"])


def test_page_size_is_capped_at_200(front_desk_client):
    Patient.objects.bulk_create(
        [
            Patient(mrn=f"BULK{n:04d}", given_name="A", family_name="B", date_of_birth=date(1980, 1, 1))
            for n in range(205)
        ]
    )
    body = front_desk_client.get(f"{API}/patients/", {"page_size": 1000}).json()
    assert body["count"] == 205
    assert len(body["results"]) == 200
    assert body["next"] is not None
    assert len(front_desk_client.get(body["next"]).json()["results"]) == 5


def test_a_page_past_the_end_is_404_not_found(front_desk_client):
    assert_error(front_desk_client.get(f"{API}/patients/", {"page": 99}), 404, "not_found")

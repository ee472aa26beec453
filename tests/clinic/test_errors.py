"""Every error under /api/ has the JSON shape of API.md, including DRF's and Django's own."""

import uuid

import pytest

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"code", "detail", "fields"}
    return body


def test_no_credentials_is_401_not_authenticated(anon_client):
    assert_error(anon_client.get("/api/v1/patients/"), 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Token nonsense", "Token ", "Bearer abc", "Token a b"])
def test_bad_credentials_are_401_not_authenticated(anon_client, header):
    anon_client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(anon_client.get("/api/v1/patients/"), 401, "not_authenticated")


def test_a_wrong_role_is_403_permission_denied(front_desk_client):
    patient = PatientFactory()
    assert_error(front_desk_client.get(f"/api/v1/patients/{patient.id}/diary/"), 403, "permission_denied")


def test_an_unknown_uuid_is_404_not_found(front_desk_client):
    assert_error(front_desk_client.get(f"/api/v1/patients/{uuid.uuid4()}/"), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/patients/not-a-uuid/", "/api/v1/nowhere/", "/api/nothing"])
def test_an_unknown_path_under_api_is_a_json_404(front_desk_client, path):
    assert_error(front_desk_client.get(path), 404, "not_found")


def test_a_404_outside_the_api_stays_a_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_disallowed_method_is_405_method_not_allowed(front_desk_client):
    patient = PatientFactory()
    assert_error(front_desk_client.put(f"/api/v1/patients/{patient.id}/", {}), 405, "method_not_allowed")


def test_malformed_json_is_400_validation_error(front_desk_client):
    response = front_desk_client.post("/api/v1/patients/", data="{not json", content_type="application/json")
    assert_error(response, 400, "validation_error")


def test_an_unsupported_media_type_is_415(front_desk_client):
    response = front_desk_client.post("/api/v1/patients/", data="<x/>", content_type="application/xml")
    assert_error(response, 415, "unsupported_media_type")


def test_a_validation_error_names_its_fields(front_desk_client):
    body = assert_error(front_desk_client.post("/api/v1/patients/", {"mrn": ""}), 400, "validation_error")
    assert "mrn" in body["fields"]


@pytest.mark.urls("tests.clinic.urls_boom")
def test_a_bug_under_api_is_a_json_500_server_error(client):
    client.raise_request_exception = False
    body = assert_error(client.get("/api/v1/boom/"), 500, "server_error")
    assert "a bug" not in body["detail"]


@pytest.mark.urls("tests.clinic.urls_boom")
def test_a_bug_outside_the_api_is_an_html_500(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")


def test_the_exception_handler_flattens_nested_errors():
    from rest_framework.exceptions import ValidationError

    from clinic.api.errors import exception_handler

    exc = ValidationError({"treatment": {"lot_number": ["Required."]}, "adverse_events": [{"kind": ["Bad."]}]})
    body = exception_handler(exc, {}).data
    assert body["code"] == "validation_error"
    assert body["fields"] == {"treatment.lot_number": ["Required."], "adverse_events.0.kind": ["Bad."]}


def test_a_domain_error_keeps_its_code_status_and_extra_fields():
    from clinic.api.errors import exception_handler
    from clinic.errors import RuleViolation

    response = exception_handler(RuleViolation("Too soon.", code="too_soon", earliest="2027-03-30"), {})
    assert response.status_code == 422
    assert response.data == {"code": "too_soon", "detail": "Too soon.", "earliest": "2027-03-30"}

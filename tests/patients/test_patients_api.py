"""Patients over the API (API.md, Patients): create, list with ?search=, read, update."""

import uuid

import pytest
from django.test import override_settings

from clinic.models import AuditLog
from patients.models import Patient
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = {
    "mrn": "A1",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1980-01-02",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0958",
    "time_zone": "Europe/London",
}


def test_front_desk_registers_a_patient_with_the_phone_in_e164_and_a_uuid_id(front_desk_client):
    response = front_desk_client.post("/api/v1/patients/", NEW)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+442079460958"
    assert uuid.UUID(body["id"])
    assert Patient.objects.get(pk=body["id"]).phone == "+442079460958"


def test_a_national_phone_number_is_read_in_the_default_region(front_desk_client):
    response = front_desk_client.post("/api/v1/patients/", {**NEW, "phone": "(212) 555-0123"})
    assert response.status_code == 201
    assert response.json()["phone"] == "+12125550123"


@override_settings(DEFAULT_PHONE_REGION="GB")
def test_the_default_region_comes_from_the_setting(front_desk_client):
    response = front_desk_client.post("/api/v1/patients/", {**NEW, "phone": "020 7946 0958"})
    assert response.status_code == 201
    assert response.json()["phone"] == "+442079460958"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "12345"),
        ("phone", "not a number"),
        ("time_zone", "Mars/Olympus_Mons"),
        ("time_zone", "UTC+2"),
        ("email", "ada-at-example"),
        ("date_of_birth", "02/01/1980"),
        ("status", "asleep"),
    ],
)
def test_bad_contact_details_are_refused_with_the_field_named(front_desk_client, field, value):
    response = front_desk_client.post("/api/v1/patients/", {**NEW, field: value})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == [field]
    assert body["fields"][field] and all(isinstance(m, str) for m in body["fields"][field])
    assert not Patient.objects.exists()


def test_missing_required_fields_are_each_named(front_desk_client):
    response = front_desk_client.post("/api/v1/patients/", {})
    assert response.status_code == 400
    assert {"mrn", "given_name", "family_name", "date_of_birth"} <= set(response.json()["fields"])


def test_a_duplicate_mrn_is_refused_with_fields_mrn(front_desk_client):
    PatientFactory(mrn="A1")
    response = front_desk_client.post("/api/v1/patients/", NEW)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "mrn" in body["fields"]
    assert Patient.objects.count() == 1


def test_changing_the_mrn_to_another_patients_is_refused(front_desk_client):
    PatientFactory(mrn="TAKEN")
    patient = PatientFactory(mrn="MINE")
    response = front_desk_client.patch(f"/api/v1/patients/{patient.id}/", {"mrn": "TAKEN"})
    assert response.status_code == 400
    assert "mrn" in response.json()["fields"]
    patient.refresh_from_db()
    assert patient.mrn == "MINE"


def test_a_patient_is_read_and_patched(front_desk_client):
    patient = PatientFactory(sms_opt_in=True)
    read = front_desk_client.get(f"/api/v1/patients/{patient.id}/")
    assert read.status_code == 200
    assert read.json()["id"] == str(patient.id)

    patched = front_desk_client.patch(
        f"/api/v1/patients/{patient.id}/", {"sms_opt_in": False, "phone": "+1 202 555 0143", "status": "paused"}
    )
    assert patched.status_code == 200, patched.json()
    patient.refresh_from_db()
    assert (patient.sms_opt_in, patient.phone, patient.status) == (False, "+12025550143", "paused")


def test_a_bad_patch_changes_nothing(clinician_client):
    patient = PatientFactory(time_zone="America/New_York", given_name="Ada")
    response = clinician_client.patch(
        f"/api/v1/patients/{patient.id}/", {"given_name": "Eve", "time_zone": "Nowhere/Land"}
    )
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["time_zone"]
    patient.refresh_from_db()
    assert (patient.given_name, patient.time_zone) == ("Ada", "America/New_York")


def test_put_on_a_patient_is_405_in_the_error_shape(front_desk_client):
    patient = PatientFactory()
    response = front_desk_client.put(f"/api/v1/patients/{patient.id}/", NEW)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert set(response.json()) == {"code", "detail"}


def test_delete_on_a_patient_is_405(front_desk_client):
    patient = PatientFactory()
    response = front_desk_client.delete(f"/api/v1/patients/{patient.id}/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert Patient.objects.filter(pk=patient.pk).exists()


@pytest.mark.parametrize("suffix", ["", "diary/", "response/", "eligibility/", "preventives/"])
def test_an_unknown_patient_id_is_404_not_found(clinician_client, suffix):
    response = clinician_client.get(f"/api/v1/patients/{uuid.uuid4()}/{suffix}")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": response.json()["detail"]}
    assert not AuditLog.objects.exists()


def test_a_non_uuid_patient_path_is_404_in_json(clinician_client):
    response = clinician_client.get("/api/v1/patients/42/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_the_patient_list_is_paginated(front_desk_client):
    PatientFactory.create_batch(5)
    response = front_desk_client.get("/api/v1/patients/?page_size=2")
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"]
    last = front_desk_client.get("/api/v1/patients/?page_size=2&page=3").json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    assert last["previous"]


def test_page_size_is_capped_at_200(front_desk_client):
    PatientFactory.create_batch(201)
    body = front_desk_client.get("/api/v1/patients/?page_size=500").json()
    assert body["count"] == 201
    assert len(body["results"]) == 200


def test_a_page_past_the_end_is_404_not_found(front_desk_client):
    PatientFactory()
    response = front_desk_client.get("/api/v1/patients/?page=9")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lovelace", {"A1"}),
        ("Ada", {"A1"}),
        ("ada lovelace", {"A1"}),
        ("A1", {"A1"}),
        ("mrn-b2", {"MRN-B2"}),
        ("grace@navy", {"MRN-B2"}),
        ("2079460958", {"A1"}),
        ("+44 20 7946 0958", {"A1"}),
        ("202-555", {"MRN-B2"}),
        ("nobody", set()),
    ],
)
def test_search_finds_patients_by_name_mrn_phone_and_email(front_desk_client, query, expected):
    PatientFactory(mrn="A1", given_name="Ada", family_name="Lovelace", phone="+442079460958", email="ada@example.com")
    PatientFactory(
        mrn="MRN-B2", given_name="Grace", family_name="Hopper", phone="+12025550143", email="grace@navy.example"
    )
    response = front_desk_client.get("/api/v1/patients/", {"search": query})
    assert response.status_code == 200
    assert {p["mrn"] for p in response.json()["results"]} == expected


@pytest.mark.parametrize("rows", [3, 30])
def test_the_patient_list_uses_a_constant_number_of_queries(front_desk_client, django_assert_num_queries, rows):
    PatientFactory.create_batch(rows)
    # 1 the token with its user and roles, 2 count, 3 the page of patients,
    # 4 one bulk insert of the audit rows for the page
    with django_assert_num_queries(4):
        response = front_desk_client.get("/api/v1/patients/")
    assert len(response.json()["results"]) == rows


def test_every_patient_listed_gets_one_audit_row(front_desk_client, front_desk_user):
    patients = PatientFactory.create_batch(3)
    PatientFactory.create_batch(2)
    front_desk_client.get("/api/v1/patients/?page_size=3")
    rows = list(AuditLog.objects.all())
    listed = {p.id for p in Patient.objects.all()[:3]}
    assert {r.patient_id for r in rows} == listed
    assert len(rows) == 3
    assert len({p.id for p in patients}) == 3
    for row in rows:
        assert (row.user_id, row.action, row.resource, row.client_ip) == (
            front_desk_user.id,
            "read",
            "patient",
            "127.0.0.1",
        )
        assert row.at is not None


def test_reading_creating_and_updating_a_patient_are_audited(front_desk_client, front_desk_user):
    created = front_desk_client.post("/api/v1/patients/", NEW, REMOTE_ADDR="10.1.2.3").json()
    front_desk_client.get(f"/api/v1/patients/{created['id']}/")
    front_desk_client.patch(f"/api/v1/patients/{created['id']}/", {"given_name": "Augusta"})
    rows = AuditLog.objects.order_by("id")
    assert [(r.action, str(r.patient_id)) for r in rows] == [
        ("create", created["id"]),
        ("read", created["id"]),
        ("update", created["id"]),
    ]
    assert rows[0].client_ip == "10.1.2.3"
    assert {r.user_id for r in rows} == {front_desk_user.id}


def test_a_refused_write_leaves_no_audit_row_and_no_patient(front_desk_client):
    front_desk_client.post("/api/v1/patients/", {**NEW, "phone": "123"})
    assert not AuditLog.objects.exists()
    assert not Patient.objects.exists()


def test_no_token_is_401_not_authenticated(anon_client):
    response = anon_client.get("/api/v1/patients/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_bad_token_is_401_not_authenticated(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anon_client.get("/api/v1/patients/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_user_without_a_role_is_403_permission_denied(db):
    from tests.conftest import _client_for

    client = _client_for(UserFactory(username="norole"))
    response = client.get("/api/v1/patients/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_browser_session_also_authenticates(client, clinician_user):
    client.force_login(clinician_user)
    patient = PatientFactory()
    response = client.get(f"/api/v1/patients/{patient.id}/")
    assert response.status_code == 200


def test_a_phone_number_in_national_form_finds_the_patient(front_desk_client):
    PatientFactory(mrn="US1", phone="+12125550123")
    PatientFactory(mrn="US2", phone="+12125559999")
    response = front_desk_client.get("/api/v1/patients/", {"search": "(212) 555-0123"})
    assert [p["mrn"] for p in response.json()["results"]] == ["US1"]


def test_a_numeric_mrn_is_still_found_by_search(front_desk_client):
    PatientFactory(mrn="004512", phone="+12125550123")
    PatientFactory(mrn="OTHER", phone="+12125559999")
    response = front_desk_client.get("/api/v1/patients/", {"search": "004512"})
    assert [p["mrn"] for p in response.json()["results"]] == ["004512"]

"""API.md, Patients: fields, formats, validation, search."""

import pytest

from tests.contract.common import (
    API,
    PATIENT_FIELDS,
    assert_error,
    assert_page,
    is_date,
    is_uuid,
    new_patient,
)
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["front_desk_client", "clinician_client"])
def test_a_patient_has_the_contract_fields_and_an_e164_phone(request, role):
    client = request.getfixturevalue(role)
    response = client.post(f"{API}/patients/", new_patient())
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= PATIENT_FIELDS
    assert is_uuid(body["id"]) and is_date(body["date_of_birth"])
    assert body["phone"] == "+442079460958"
    assert body["status"] == "active"
    detail = client.get(f"{API}/patients/{body['id']}/").json()
    assert {k: detail[k] for k in PATIENT_FIELDS} == {k: body[k] for k in PATIENT_FIELDS}
    patched = client.patch(f"{API}/patients/{body['id']}/", {"phone": "+1 (212) 555-0101", "sms_opt_in": True})
    assert patched.status_code == 200
    assert (patched.json()["phone"], patched.json()["sms_opt_in"]) == ("+12125550101", True)


def test_a_national_phone_is_read_in_the_default_region(front_desk_client, settings):
    assert front_desk_client.post(f"{API}/patients/", new_patient(phone="(212) 555-0199")).json()["phone"] == (
        "+12125550199"
    )
    settings.DEFAULT_PHONE_REGION = "GB"
    response = front_desk_client.post(f"{API}/patients/", new_patient(mrn="MRN-10", phone="020 7946 0000"))
    assert response.json()["phone"] == "+442079460000"


@pytest.mark.parametrize(
    ("field", "value"), [("phone", "12"), ("phone", "call me"), ("email", "grace@"), ("time_zone", "Europe/Atlantis")]
)
def test_a_bad_phone_email_or_zone_is_400_naming_the_field(front_desk_client, patient, field, value):
    response = front_desk_client.post(f"{API}/patients/", new_patient(**{field: value}))
    assert field in assert_error(response, 400, "validation_error")["fields"]
    response = front_desk_client.patch(f"{API}/patients/{patient.id}/", {field: value})
    assert field in assert_error(response, 400, "validation_error")["fields"]


def test_a_duplicate_mrn_is_400_with_fields_mrn(front_desk_client, patient):
    response = front_desk_client.post(f"{API}/patients/", new_patient(mrn=patient.mrn))
    assert "mrn" in assert_error(response, 400, "validation_error")["fields"]
    other = front_desk_client.post(f"{API}/patients/", new_patient()).json()
    response = front_desk_client.patch(f"{API}/patients/{other['id']}/", {"mrn": patient.mrn})
    assert "mrn" in assert_error(response, 400, "validation_error")["fields"]


@pytest.mark.parametrize("query", ["Byron", "ada", "MRN-CONTRACT", "mrn-contract@example.com", "+1 212 555"])
def test_search_finds_by_name_mrn_phone_and_email(front_desk_client, query):
    found = PatientFactory(
        mrn="MRN-CONTRACT",
        given_name="Ada",
        family_name="Byron",
        email="mrn-contract@example.com",
        phone="+12125550123",
    )
    PatientFactory(
        mrn="OTHER", given_name="Alan", family_name="Turing", email="alan@example.org", phone="+447700900123"
    )
    rows = assert_page(front_desk_client.get(f"{API}/patients/", {"search": query}))
    assert [row["id"] for row in rows] == [str(found.id)]


def test_preventives_record_the_drug_dates_and_outcome(clinician_client):
    patient = PatientFactory()
    url = f"{API}/patients/{patient.id}/preventives/"
    for drug, outcome in [
        ("topiramate", "failed"),
        ("propranolol", "not_tolerated"),
        ("candesartan", "contraindicated"),
        ("amitriptyline", "ongoing"),
    ]:
        response = clinician_client.post(url, {"drug": drug, "started_on": "2025-01-01", "outcome": outcome})
        assert response.status_code == 201
        body = response.json()
        assert {"drug", "started_on", "stopped_on", "outcome"} <= set(body)
        assert body["stopped_on"] is None and body["started_on"] == "2025-01-01"
    assert len(assert_page(clinician_client.get(url))) == 4
    response = clinician_client.post(url, {"drug": "x", "started_on": "2025-01-01", "outcome": "worked"})
    assert "outcome" in assert_error(response, 400, "validation_error")["fields"]
    # failed, not_tolerated and contraindicated count as failed; ongoing does not
    assert clinician_client.get(f"{API}/patients/{patient.id}/eligibility/").json()["failed_preventives"] == 3


def test_eligibility_has_the_contract_shape(clinician_client, patient):
    body = clinician_client.get(f"{API}/patients/{patient.id}/eligibility/").json()
    assert {"chronic_migraine", "baseline", "failed_preventives", "meets_protocol", "reasons"} <= set(body)
    assert body["chronic_migraine"] is True and body["meets_protocol"] is True
    assert isinstance(body["baseline"], dict) and body["failed_preventives"] == 2 and body["reasons"] == []
    untreatable = PatientFactory()
    body = clinician_client.get(f"{API}/patients/{untreatable.id}/eligibility/").json()
    assert body["meets_protocol"] is False and body["chronic_migraine"] is False
    assert body["reasons"] and all(isinstance(r, str) for r in body["reasons"])

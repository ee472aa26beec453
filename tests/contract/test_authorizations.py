"""API.md, Prior authorisation."""

from datetime import date

import pytest

from tests.contract.common import (
    API,
    AUTHORIZATION_FIELDS,
    DUE_AUTHORIZATION_STATUSES,
    REAUTHORIZATION_FIELDS,
    assert_error,
    assert_page,
    book_body,
    is_uuid,
    ny,
)
from tests.factories import AuthorizationFactory

pytestmark = pytest.mark.django_db


def test_an_authorisation_has_the_contract_fields_and_counts_treatments(front_desk_client, authorised):
    url = f"{API}/courses/{authorised.pk}/authorizations/"
    body = {
        "payer": "Aetna",
        "reference": "PA-1",
        "status": "approved",
        "treatments_approved": 2,
        "units_approved": 310,
        "valid_from": "2026-10-01",
        "valid_to": "2027-03-31",
        "notes": "",
    }
    response = front_desk_client.post(url, body)
    assert response.status_code == 201, response.json()
    out = response.json()
    assert set(out) >= AUTHORIZATION_FIELDS
    assert {k: out[k] for k in body} == body
    assert is_uuid(out["id"]) and out["course"] == str(authorised.pk)
    assert (out["treatments_used"], out["treatments_left"]) == (1, 1)  # the treatment of 2026-10-20
    [row] = assert_page(front_desk_client.get(url))
    assert row["id"] == out["id"]
    detail = front_desk_client.get(f"{API}/authorizations/{out['id']}/").json()
    assert set(detail) >= AUTHORIZATION_FIELDS
    patched = front_desk_client.patch(f"{API}/authorizations/{out['id']}/", {"status": "denied"})
    assert patched.status_code == 200 and patched.json()["status"] == "denied"


def test_valid_to_before_valid_from_is_400_validation_error(front_desk_client, authorised):
    body = {"payer": "Aetna", "status": "approved", "treatments_approved": 2}
    response = front_desk_client.post(
        f"{API}/courses/{authorised.pk}/authorizations/", {**body, "valid_from": "2027-02-01", "valid_to": "2027-01-01"}
    )
    assert "valid_to" in assert_error(response, 400, "validation_error")["fields"]


def test_a_treatment_outside_the_approval_is_422_authorization_required(
    front_desk_client, clinician_client, authorised, patient, clinician, location
):
    start = ny(date(2027, 1, 12), 10)
    body = assert_error(
        front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, start)),
        422,
        "authorization_required",
    )
    assert "fields" not in body
    overridden = book_body(patient, clinician, location, start, override_reason="payer agreed by phone")
    assert clinician_client.post(f"{API}/sessions/", overridden).status_code == 201


def test_the_expiring_list_and_the_due_rows_authorization(front_desk_client, authorised):
    AuthorizationFactory(course=authorised, valid_from=date(2026, 10, 1), valid_to=date(2027, 1, 29))
    rows = assert_page(front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": 30}))
    assert len(rows) == 1 and set(rows[0]) >= AUTHORIZATION_FIELDS
    assert assert_page(front_desk_client.get(f"{API}/authorizations/", {"status": "approved"}))
    [row] = assert_page(front_desk_client.get(f"{API}/due/"))
    assert set(row["authorization"]) == {"status", "valid_to", "treatments_left"}
    assert row["authorization"] == {"status": "expiring", "valid_to": "2027-01-29", "treatments_left": 1}
    assert row["authorization"]["status"] in DUE_AUTHORIZATION_STATUSES


def test_the_reauthorization_packet_and_letter_are_for_clinicians(clinician_client, front_desk_client, authorised):
    url = f"{API}/courses/{authorised.pk}/reauthorization/"
    assert set(clinician_client.get(url).json()) >= REAUTHORIZATION_FIELDS
    pdf = clinician_client.get(url, {"format": "pdf"})
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    letter = clinician_client.get(f"{API}/courses/{authorised.pk}/letter/", {"format": "pdf"})
    assert (letter.status_code, letter["Content-Type"]) == (200, "application/pdf")
    for path in (url, f"{API}/courses/{authorised.pk}/letter/"):
        assert_error(front_desk_client.get(path), 403, "permission_denied")
        assert_error(front_desk_client.get(path, {"format": "pdf"}), 403, "permission_denied")

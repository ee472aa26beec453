"""API.md, Operations: run_jobs, healthz, docs."""

import json
from datetime import date

import pytest

from tests.contract.common import (
    API,
    treated,
)

pytestmark = pytest.mark.django_db


def test_healthz_is_exactly_database_and_broker_without_auth_or_redirect(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"} or set(response.json()) == {"database", "broker"}
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] in ("ok", "unavailable")


def test_the_fhir_export_is_a_bundle_of_the_named_resources(clinician_client, patient, clinician, location):
    treated(patient, clinician, location, date(2026, 12, 1))
    response = clinician_client.get(f"{API}/patients/{patient.id}/fhir/")
    assert response.status_code == 200
    bundle = json.loads(response.content)
    assert bundle["resourceType"] == "Bundle"
    types = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert types.count("Patient") == 1
    assert types.count("Appointment") == 1
    assert types.count("Observation") == 2
    assert types.count("Procedure") == 1

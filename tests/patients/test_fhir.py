"""GET /api/v1/patients/{id}/fhir/: a FHIR R4 Bundle of the patient's record (clinician only, audited)."""

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from clinic.models import AuditLog
from cycles.models import TreatmentRecord
from scheduling.models import Session
from tests.factories import (
    ClinicianFactory,
    CourseFactory,
    DiaryEntryFactory,
    LocationFactory,
    PatientFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

FIRST = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


@pytest.fixture
def patient():
    return PatientFactory(mrn="FHIR1", given_name="Ada", family_name="Lovelace", phone="+442079460958")


def url(patient) -> str:
    return f"/api/v1/patients/{patient.id}/fhir/"


def _record(patient, *, sessions: int, diary: int, location=None, clinician=None) -> list[Session]:
    location = location or LocationFactory(name="Manhattan", time_zone="America/New_York")
    clinician = clinician or ClinicianFactory(name="Dr Amy Lee")
    course = CourseFactory(patient=patient)
    made = []
    for index in range(sessions):
        start = FIRST + timedelta(days=84 * index)
        session = SessionFactory(
            patient=patient,
            course=course,
            clinician=clinician,
            location=location,
            start=start,
            end=start + timedelta(minutes=30),
            status=Session.Status.COMPLETED,
        )
        TreatmentRecord.objects.create(
            session=session,
            units_by_muscle=dict(TreatmentRecord.STANDARD_UNITS),
            sites=31,
            total_units=155,
            units_wasted=5,
            lot_number=f"C{index:04d}",
            lot_expiry=date(2027, 1, 1),
            injector=clinician,
        )
        made.append(session)
    for index in range(diary):
        start = date(2024, 1, 1) + timedelta(days=28 * index)
        DiaryEntryFactory(patient=patient, period_start=start, period_end=start + timedelta(days=27), hit6=60)
    return made


def _bundle(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fhir+json"
    body = response.json()
    Bundle.model_validate_json(response.content)  # a valid R4 (R4B) Bundle, or this raises
    return body


def _resources(body, kind: str) -> list[dict]:
    return [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == kind]


def test_the_export_is_a_valid_r4_collection_bundle_with_one_resource_per_row(clinician_client, patient):
    sessions = _record(patient, sessions=2, diary=3)
    course = sessions[0].course
    SessionFactory(
        patient=patient,
        course=course,
        location=sessions[0].location,
        start=FIRST + timedelta(days=200),
        status=Session.Status.BOOKED,
    )
    body = _bundle(clinician_client.get(url(patient)))
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "collection"
    assert Counter(e["resource"]["resourceType"] for e in body["entry"]) == {
        "Patient": 1,
        "Appointment": 3,
        "Observation": 3,
        "Procedure": 2,
    }


def test_the_patient_resource_carries_demographics_and_contact(clinician_client, patient):
    (resource,) = _resources(_bundle(clinician_client.get(url(patient))), "Patient")
    assert resource["id"] == str(patient.id)
    assert resource["identifier"][0]["value"] == "FHIR1"
    assert resource["name"][0] == {"use": "official", "family": "Lovelace", "given": ["Ada"]}
    assert resource["birthDate"] == patient.date_of_birth.isoformat()
    assert {"system": "phone", "value": "+442079460958", "use": "mobile"} in resource["telecom"]
    assert resource["active"] is True


def test_each_diary_entry_is_an_observation_of_headache_days_over_its_period(clinician_client, patient):
    _record(patient, sessions=0, diary=1)
    (observation,) = _resources(_bundle(clinician_client.get(url(patient))), "Observation")
    assert observation["status"] == "final"
    assert observation["code"]["text"] == "Headache days"
    assert observation["effectivePeriod"] == {"start": "2024-01-01", "end": "2024-01-28"}
    assert observation["valueQuantity"]["value"] == 20
    assert observation["valueQuantity"]["code"] == "d"
    components = {c["code"]["text"]: c for c in observation["component"]}
    assert components["Migraine days"]["valueQuantity"]["value"] == 10
    assert components["HIT-6 total score"]["valueInteger"] == 60


def test_sessions_are_appointments_with_fhir_statuses(clinician_client, patient):
    location = LocationFactory(name="London", time_zone="Europe/London")
    course = CourseFactory(patient=patient)
    statuses = ["booked", "confirmed", "checked_in", "completed", "cancelled", "no_show"]
    for index, status in enumerate(statuses):
        start = FIRST + timedelta(days=index)
        SessionFactory(
            patient=patient,
            course=course,
            location=location,
            start=start,
            end=start + timedelta(minutes=30),
            status=status,
            kind=Session.Kind.CONSULTATION,
            cancel_reason="moved away" if status == "cancelled" else "",
        )
    appointments = _resources(_bundle(clinician_client.get(url(patient))), "Appointment")
    assert [a["status"] for a in appointments] == ["booked", "booked", "checked-in", "fulfilled", "cancelled", "noshow"]
    assert appointments[0]["start"] == "2026-01-05T14:00:00Z"
    assert appointments[0]["minutesDuration"] == 30
    assert appointments[4]["cancelationReason"]["text"] == "moved away"
    assert {"reference": f"urn:uuid:{patient.id}", "display": "Ada Lovelace"} in [
        p["actor"] for p in appointments[0]["participant"]
    ]
    # A completed consultation is not a treatment: no Procedure.
    assert _resources(_bundle(clinician_client.get(url(patient))), "Procedure") == []


def test_a_completed_treatment_is_a_procedure_with_its_units_and_lot(clinician_client, patient):
    _record(patient, sessions=1, diary=0)
    (procedure,) = _resources(_bundle(clinician_client.get(url(patient))), "Procedure")
    assert procedure["status"] == "completed"
    assert procedure["code"]["coding"][0]["code"] == "64615"
    assert procedure["usedCode"][0]["coding"][0]["code"] == "J0585"
    assert procedure["performedDateTime"] == "2026-01-05T14:00:00Z"
    assert procedure["performer"][0]["actor"]["display"] == "Dr Amy Lee"
    assert "155 U at 31 sites" in procedure["note"][0]["text"]
    assert "lot C0000" in procedure["note"][0]["text"]
    assert "modifier JW" in procedure["note"][0]["text"]
    assert len(procedure["bodySite"]) == 7


def test_every_reference_resolves_inside_the_bundle_and_full_urls_are_unique(clinician_client, patient):
    _record(patient, sessions=2, diary=2)
    body = _bundle(clinician_client.get(url(patient)))
    full_urls = [e["fullUrl"] for e in body["entry"]]
    assert len(full_urls) == len(set(full_urls))
    for e in body["entry"]:
        assert e["fullUrl"].startswith("urn:uuid:")
        uuid.UUID(e["fullUrl"].removeprefix("urn:uuid:"))
    references = [
        actor["reference"]
        for e in body["entry"]
        for actor in [p["actor"] for p in e["resource"].get("participant", [])] + [e["resource"].get("subject", {})]
        if actor.get("reference")
    ]
    assert references
    assert set(references) <= set(full_urls)


def test_a_fhir_client_may_ask_for_application_fhir_json(clinician_client, patient):
    response = clinician_client.get(url(patient), HTTP_ACCEPT="application/fhir+json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"


def test_the_export_is_audited_as_an_export(clinician_client, clinician_user, patient):
    clinician_client.get(url(patient))
    row = AuditLog.objects.get()
    assert (row.user_id, row.action, row.resource, row.patient_id, row.client_ip) == (
        clinician_user.id,
        "export",
        "fhir",
        patient.id,
        "127.0.0.1",
    )


def test_front_desk_gets_403_and_no_token_gets_401(front_desk_client, anon_client, patient):
    forbidden = front_desk_client.get(url(patient))
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "permission_denied"
    unauthenticated = anon_client.get(url(patient))
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["code"] == "not_authenticated"
    assert not AuditLog.objects.exists()


def test_an_unknown_patient_is_404(clinician_client):
    response = clinician_client.get(f"/api/v1/patients/{uuid.uuid4()}/fhir/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("rows", [3, 30])
def test_the_export_uses_a_constant_number_of_queries(clinician_client, patient, django_assert_num_queries, rows):
    _record(patient, sessions=rows, diary=rows)
    # 1 the token with its user and roles, 2 the patient,
    # 3 sessions joined with clinician, location, treatment record and its injector, 4 diary entries, 5 the audit row
    with django_assert_num_queries(5):
        body = _bundle(clinician_client.get(url(patient)))
    assert len(body["entry"]) == 1 + rows * 3

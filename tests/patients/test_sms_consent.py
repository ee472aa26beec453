"""After a STOP by SMS, only the patient's START or a clinician's PATCH with `consent_note` turns SMS back on."""

import pytest

from clinic.models import AuditLog
from notifications.services import inbound_sms_receive
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
PHONE = "+12125550123"


@pytest.fixture
def stopped():
    patient = PatientFactory(phone=PHONE, sms_opt_in=True)
    inbound_sms_receive(provider_message_id="SM-stop", from_number=PHONE, body="STOP")
    patient.refresh_from_db()
    assert not patient.sms_opt_in
    return patient


def _patch(client, patient, **body):
    return client.patch(f"/api/v1/patients/{patient.id}/", body, format="json")


def test_front_desk_cannot_switch_sms_back_on_after_stop(front_desk_client, stopped):
    response = _patch(front_desk_client, stopped, sms_opt_in=True, given_name="Changed")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    patient = Patient.objects.get(pk=stopped.pk)
    assert (patient.sms_opt_in, patient.given_name) == (False, stopped.given_name)  # nothing changed


def test_front_desk_cannot_do_it_with_a_consent_note_either(front_desk_client, stopped):
    assert _patch(front_desk_client, stopped, sms_opt_in=True, consent_note="she said so").status_code == 403
    assert not Patient.objects.get(pk=stopped.pk).sms_opt_in


def test_a_clinician_needs_a_consent_note(clinician_client, stopped):
    response = _patch(clinician_client, stopped, sms_opt_in=True)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["consent_note"]
    assert not Patient.objects.get(pk=stopped.pk).sms_opt_in


def test_a_clinician_with_a_consent_note_switches_it_on_and_the_note_is_audited(clinician_client, stopped):
    note = "Patient asked in clinic on 4 Jan to get SMS reminders again."
    response = _patch(clinician_client, stopped, sms_opt_in=True, consent_note=note)
    assert response.status_code == 200
    assert response.json()["sms_opt_in"] is True
    assert "consent_note" not in response.json()
    assert Patient.objects.get(pk=stopped.pk).sms_opt_in
    row = AuditLog.objects.get(action=AuditLog.Action.OVERRIDE)
    assert (row.resource, row.patient_id, row.detail, row.user) == (
        "sms_consent",
        stopped.id,
        note,
        clinician_client.user,
    )


def test_the_patients_start_undoes_the_stop(front_desk_client, stopped):
    inbound_sms_receive(provider_message_id="SM-start", from_number=PHONE, body="START")
    assert Patient.objects.get(pk=stopped.pk).sms_opt_in
    assert _patch(front_desk_client, stopped, sms_opt_in=False).status_code == 200
    assert _patch(front_desk_client, stopped, sms_opt_in=True).status_code == 200


def test_without_a_stop_front_desk_sets_sms_consent_freely(front_desk_client):
    patient = PatientFactory(phone="+12125550199", sms_opt_in=False)
    assert _patch(front_desk_client, patient, sms_opt_in=True).status_code == 200
    assert Patient.objects.get(pk=patient.pk).sms_opt_in


def test_other_changes_to_a_stopped_patient_go_through(front_desk_client, stopped):
    assert _patch(front_desk_client, stopped, given_name="Renamed").status_code == 200
    assert Patient.objects.get(pk=stopped.pk).given_name == "Renamed"


def test_registering_a_new_patient_on_a_number_that_said_stop_keeps_sms_off_for_front_desk(front_desk_client, stopped):
    body = {
        "mrn": "M-NEW",
        "given_name": "Ada",
        "family_name": "Ng",
        "date_of_birth": "1980-01-02",
        "phone": PHONE,
        "sms_opt_in": True,
    }
    assert front_desk_client.post("/api/v1/patients/", body, format="json").status_code == 403
    assert not Patient.objects.filter(mrn="M-NEW").exists()

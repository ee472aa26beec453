"""Reading and changing patient data from the web UI is audited like the API."""

import pytest

from clinic.models import AuditLog
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_opening_a_patient_and_their_response_writes_audit_rows(desk, doctor):
    patient = PatientFactory()
    desk.get(f"/patients/{patient.id}/")
    doctor.get(f"/patients/{patient.id}/response/")
    rows = AuditLog.objects.filter(patient_id=patient.id).order_by("id")
    assert [(r.user.username, r.action, r.resource) for r in rows] == [
        ("desk", "read", "patient"),
        ("doctor", "read", "response"),
    ]


def test_a_refused_clinical_page_writes_nothing(desk):
    patient = PatientFactory()
    assert desk.get(f"/patients/{patient.id}/response/").status_code == 403
    assert not AuditLog.objects.filter(patient_id=patient.id).exists()

"""Every API read of a patient's data, whichever app serves it, leaves an audit row for that patient."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from clinic.models import AuditLog
from notifications.models import Notification
from scheduling.models import Session
from tests.factories import (
    CourseFactory,
    DiaryEntryFactory,
    LocationFactory,
    PatientFactory,
    ReviewFlagFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
def record():
    """One patient seen everywhere: due for treatment, with a booked consultation, a flag and a notification."""
    patient = PatientFactory()
    location = LocationFactory(time_zone="America/New_York")
    course = CourseFactory(patient=patient)
    treated = datetime(2026, 3, 16, 14, 0, tzinfo=UTC)
    SessionFactory(
        patient=patient,
        course=course,
        location=location,
        start=treated,
        end=treated + timedelta(minutes=30),
        status=Session.Status.COMPLETED,
    )
    upcoming = SessionFactory(
        patient=patient,
        course=course,
        location=location,
        kind=Session.Kind.CONSULTATION,
        start=NOW + timedelta(days=2),
        end=NOW + timedelta(days=2, minutes=30),
    )
    DiaryEntryFactory(patient=patient, period_start=date(2026, 5, 1))
    ReviewFlagFactory(course=course)
    Notification.objects.create(
        patient=patient,
        session=upcoming,
        purpose="reminder",
        channel="email",
        offset_days=1,
        dedupe_key=f"audit-test:{upcoming.id}",
        due_at=upcoming.start - timedelta(days=1),
    )
    return patient, upcoming


READS = [
    "/api/v1/patients/",
    "/api/v1/patients/{patient}/",
    "/api/v1/patients/{patient}/diary/",
    "/api/v1/patients/{patient}/response/",
    "/api/v1/patients/{patient}/eligibility/",
    "/api/v1/patients/{patient}/preventives/",
    "/api/v1/patients/{patient}/fhir/",
    "/api/v1/sessions/",
    "/api/v1/sessions/{session}/",
    "/api/v1/due/?within_days=30",
    "/api/v1/review-flags/",
    "/api/v1/notifications/",
]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("template", READS)
def test_every_patient_read_leaves_an_audit_row(clinician_client, clinician_user, record, template):
    patient, session = record
    before = set(AuditLog.objects.values_list("id", flat=True))
    response = clinician_client.get(template.format(patient=patient.id, session=session.id), REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200, response.content[:300]
    if "{patient}" not in template:
        assert str(patient.id) in response.content.decode(), (
            "the list did not show the patient; the test proves nothing"
        )
    new = AuditLog.objects.exclude(id__in=before)
    rows = [row for row in new if row.patient_id == patient.id]
    assert len(rows) == 1, [(r.action, r.resource, r.patient_id) for r in new]
    row = rows[0]
    assert row.user_id == clinician_user.id
    assert row.action in ("read", "export")
    assert row.client_ip == "198.51.100.4"
    assert row.at == NOW

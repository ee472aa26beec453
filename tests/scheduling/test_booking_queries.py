"""The booking path is lean (issue 16): a booking over the API, auth, audit and outbox rows included, takes a
fixed handful of queries whatever the size of the clinic."""

from datetime import date, timedelta

import pytest

from cycles.models import Course, Protocol
from notifications.models import ReminderPolicy
from tests.factories import PatientFactory, SessionFactory
from tests.scheduling.conftest import at

pytestmark = pytest.mark.usefixtures("now")


@pytest.fixture
def on_course(clinician, location):
    """A patient on an active course whose last treatment was 90 days ago (so the next one is due)."""
    patient = PatientFactory()
    course = Course.objects.create(patient=patient, protocol=Protocol.default())
    SessionFactory(
        patient=patient,
        course=course,
        clinician=clinician,
        location=location,
        start=at(date(2026, 10, 6), 10),
        status="completed",
    )
    ReminderPolicy.current()
    return patient


@pytest.mark.parametrize("others", [0, 40])
def test_a_booking_takes_eight_queries_whatever_the_clinic_holds(
    front_desk_client, clinician, location, on_course, others, django_assert_num_queries
):
    for i in range(others):  # other patients' sessions around it, mornings of that week: no query more
        start = at(date(2027, 1, 11) + timedelta(days=i // 8), 9) + timedelta(minutes=30 * (i % 8))
        SessionFactory(clinician=clinician, location=location, start=start)
    body = {
        "patient": str(on_course.pk),
        "clinician": str(clinician.pk),
        "location": str(location.pk),
        "start": at(date(2027, 1, 12), 14).isoformat(),
        "kind": "treatment",
    }
    # 1 the token, its user and roles; 2 the patient's active course with its protocol, the patient locked;
    # 3 the clinician's hours at the location (clinician and location joined); 4 their time off and sessions
    # (one UNION); 5 the patient's sessions; 6 the session inserted; 7 its confirmation and reminders
    # (one INSERT; the reminder policy is the process's, notifications.models); 8 the audit row. (Under the
    # test's transaction the booking's own is a savepoint and its release: +2.)
    with django_assert_num_queries(8 + 2):
        response = front_desk_client.post("/api/v1/sessions/", body, format="json")
    assert response.status_code == 201, response.json()

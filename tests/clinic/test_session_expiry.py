"""Browser sessions expire after 30 minutes idle (DESIGN.md §6), counted from the last request."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_a_session_survives_activity_and_expires_after_30_idle_minutes(client, clinician_user):
    patient = PatientFactory()
    url = f"/api/v1/patients/{patient.id}/"
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(clinician_user)
        for _ in range(3):  # 3 × 25 minutes of activity: longer than 30 minutes in all
            clock.shift(timedelta(minutes=25))
            assert client.get(url).status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get(url)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"

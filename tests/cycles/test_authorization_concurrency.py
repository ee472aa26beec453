"""The last approved treatment goes to one booking only, under real concurrency: threads against a running
server (the race set-up of tests/scheduling/test_concurrency.py).

The racing bookings are for one patient at different times, 91 days apart, each with its own
clinician: no slot, overlap, interval or clinician lock stands between them, only the approval's one
treatment left. Each booking locks the patient row before the course rules read the treatments
(scheduling/services/booking.py, cycles/booking.py), so the second reads the first's session and is
refused `authorization_required`. Without that lock both would read "none used" and both would book
(tried: the test then fails): no database constraint would catch it.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from cycles.models import Authorization, Course, Protocol
from scheduling.models import Location, Session
from tests.scheduling.conftest import at
from tests.scheduling.test_concurrency import DAY, _clinicians, _eligible_patients, _race, _tokens, race_server

__all__ = ["race_server"]


def _race_for_the_last_treatment(server, racers: int) -> None:
    location = Location.objects.create(name="Race clinic", time_zone="America/New_York")
    # A clinician each: the clinician row locks do not serialise them, only the patient's does.
    clinicians = _clinicians(location, racers)
    (patient,) = _eligible_patients(1)
    us = Protocol.objects.create(name="US payer", requires_authorization=True)
    course = Course.objects.create(patient=patient, protocol=us)
    today = timezone.now().date()
    Authorization.objects.create(
        course=course,
        payer="Aetna",
        reference="PA-RACE",
        status=Authorization.Status.APPROVED,
        treatments_approved=1,
        valid_from=today,
        valid_to=DAY + timedelta(days=91 * racers),
    )
    bodies = [
        {
            "patient": str(patient.id),
            "clinician": str(clinicians[i].id),
            "location": str(location.id),
            # Tuesdays 13 weeks apart, all inside the approval.
            "start": at(DAY + timedelta(days=91 * i), 10).isoformat(),
            "kind": "treatment",
        }
        for i in range(racers)
    ]
    results = _race(server.url, _tokens(racers), bodies)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [422] * (racers - 1), results
    assert {body["code"] for status, body in results if status == 422} == {"authorization_required"}
    assert Session.objects.filter(course=course, status=Session.Status.BOOKED).count() == 1


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_two_bookings_racing_for_the_last_approved_treatment_get_exactly_one_201(race_server, attempt):
    _race_for_the_last_treatment(race_server, 2)


@pytest.mark.postgres
@pytest.mark.slow
def test_eight_bookings_racing_for_the_last_approved_treatment_get_exactly_one_201(race_server):
    _race_for_the_last_treatment(race_server, 8)


@pytest.mark.slow
def test_the_race_for_the_last_treatment_is_serialised_on_any_database(race_server):
    """Runs on SQLite too: BEGIN IMMEDIATE serialises the bookings."""
    _race_for_the_last_treatment(race_server, 4)

"""The free-slot search over several clinicians and locations: its order, `now`, and who is busy where."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduling.selectors import free_slots_at
from tests.factories import ClinicianFactory, LocationFactory, SessionFactory, TimeOffFactory, WorkingHoursFactory

MONDAY = date(2027, 1, 4)


@pytest.mark.django_db
def test_slots_are_ordered_by_start_then_clinician_then_location_id_and_none_starts_before_now():
    # Two locations on the same clock, so many slots start at the same instant; each clinician works at
    # both at once (an overlap the model allows), so even one clinician's slots tie on start.
    manhattan = LocationFactory(name="Manhattan", time_zone="America/New_York")
    toronto = LocationFactory(name="Toronto", time_zone="America/Toronto")
    clinicians = [ClinicianFactory(name=f"Dr {k}", locations=[manhattan, toronto]) for k in range(4)]
    for k, clinician in enumerate(clinicians):
        for location in (manhattan, toronto):
            for weekday in range(5):
                start = time(8 + k % 2)
                WorkingHoursFactory(
                    clinician=clinician, location=location, weekday=weekday, start_time=start, end_time=time(17)
                )
    busy, off = clinicians[0], clinicians[1]
    SessionFactory(clinician=busy, location=toronto, start=datetime(2027, 1, 5, 15, tzinfo=UTC))
    TimeOffFactory(clinician=off, start=datetime(2027, 1, 6, 13, tzinfo=UTC), end=datetime(2027, 1, 6, 22, tzinfo=UTC))
    now = datetime(2027, 1, 4, 16, 10, tzinfo=UTC)

    found = free_slots_at(
        locations=[toronto, manhattan], start_date=MONDAY, end_date=MONDAY + timedelta(days=6), now=now
    )

    assert found == sorted(found, key=lambda s: (s.start, str(s.clinician_id), str(s.location_id)))
    assert min(s.start for s in found) == datetime(2027, 1, 4, 16, 30, tzinfo=UTC)
    # Each clinician at each location: Monday from 16:30 UTC to 22:00 (11 slots), then four days of 18
    # (08:00-17:00 EST) or 16 (09:00-17:00), less what is taken.
    per_clinician_location = {0: 11 + 4 * 18, 1: 11 + 4 * 16}
    for k, clinician in enumerate(clinicians):
        for location in (manhattan, toronto):
            mine = [s for s in found if s.clinician_id == clinician.pk and s.location_id == location.pk]
            # The session at Toronto takes its slot at Manhattan too; the time off takes a whole day at both.
            taken = 1 if clinician == busy else 16 if clinician == off else 0
            assert len(mine) == per_clinician_location[k % 2] - taken, (k, location.name)
    assert len({(s.clinician_id, s.location_id, s.start) for s in found}) == len(found)

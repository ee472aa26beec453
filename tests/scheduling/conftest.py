"""Shared scheduling fixtures: a New York clinic open Mon–Fri 09:00–17:00, time pinned.

`now` is Monday 2027-01-04 12:00 UTC (07:00 in New York), so the clinic's first
open day in the tests is today.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from clinic.timezones import local_datetime
from cycles.models import TreatmentRecord
from cycles.treatments import treatment_record_past
from tests.factories import (
    ClinicianFactory,
    DiaryEntryFactory,
    LocationFactory,
    PatientFactory,
    PriorPreventiveFactory,
    WorkingHoursFactory,
)

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def location(db):
    return LocationFactory(name="Manhattan", time_zone="America/New_York")


def open_weekdays(clinician, location, start=time(9), end=time(17)):
    for weekday in range(5):
        WorkingHoursFactory(clinician=clinician, location=location, weekday=weekday, start_time=start, end_time=end)
    clinician.locations.add(location)
    return clinician


@pytest.fixture
def clinician(location, clinician_user):
    """Dr Lee, the clinician_client's own Clinician row."""
    return open_weekdays(ClinicianFactory(name="Dr Lee", user=clinician_user), location)


@pytest.fixture
def other_clinician(location):
    return open_weekdays(ClinicianFactory(name="Dr Patel"), location)


def make_eligible(patient, before: date = date(2027, 1, 1)):
    """A chronic baseline (20 headache / 10 migraine days per 28) over 56 days, and 2 failed preventives."""
    for offset in (56, 28):
        start = before - timedelta(days=offset)
        DiaryEntryFactory(patient=patient, period_start=start, period_end=start + timedelta(days=27))
    PriorPreventiveFactory(patient=patient, drug="topiramate")
    PriorPreventiveFactory(patient=patient, drug="propranolol")
    return patient


@pytest.fixture
def patient(db):
    return make_eligible(PatientFactory())


def at(day: date, hour: int, minute: int = 0, tz: str = "America/New_York") -> datetime:
    from zoneinfo import ZoneInfo

    return local_datetime(day, time(hour, minute), ZoneInfo(tz))


STANDARD = TreatmentRecord.STANDARD_UNITS


def treatment_body(**overrides) -> dict:
    body = {
        "units_by_muscle": dict(STANDARD),
        "sites": 31,
        "units_wasted": 0,
        "lot_number": "C1234A",
        "lot_expiry": date(2028, 6, 30),
    }
    body.update(overrides)
    return body


def record_past(patient, clinician, location, day: date, by, hour: int = 10, **treatment):
    return treatment_record_past(
        patient=patient,
        clinician=clinician,
        location=location,
        start=at(day, hour, tz=location.time_zone),
        treatment=treatment_body(**treatment),
        by=by,
    )

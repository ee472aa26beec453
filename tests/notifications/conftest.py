"""Notification fixtures: a London clinic open every day 07:00–20:00, SMS to an in-memory outbox.

Time is pinned by the tests themselves (time_machine); `now` here is Monday
2027-03-01 12:00 UTC (12:00 in London, 07:00 in New York, 21:00 in Tokyo).
"""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.core import mail

from clinic.timezones import local_datetime
from notifications.channels import sms
from notifications.models import Notification
from tests.factories import ClinicianFactory, LocationFactory, PatientFactory, WorkingHoursFactory

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def at(day: date, hour: int, minute: int = 0, tz: str = "Europe/London") -> datetime:
    from zoneinfo import ZoneInfo

    return local_datetime(day, time(hour, minute), ZoneInfo(tz))


@pytest.fixture(autouse=True)
def _outboxes(settings):
    settings.SMS_BACKEND = "locmem"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CLINIC_NAME = "Riverside Clinic"
    settings.SITE_URL = "https://cycledesk.example.org"
    sms.outbox.clear()
    mail.outbox = []
    yield
    sms.outbox.clear()


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def location(db):
    return LocationFactory(name="Riverside", time_zone="Europe/London")


@pytest.fixture
def clinician(location):
    clinician = ClinicianFactory(name="Dr Lee")
    for weekday in range(7):
        WorkingHoursFactory(
            clinician=clinician, location=location, weekday=weekday, start_time=time(7), end_time=time(20)
        )
    clinician.locations.add(location)
    return clinician


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Alice", time_zone="Europe/London", phone="+447700900123", sms_opt_in=True)


def book(patient, clinician, location, start, kind="consultation"):
    from scheduling.services import session_book

    return session_book(patient=patient, clinician=clinician, location=location, start=start, kind=kind, booked_by=None)


def rows(**filters):
    return list(Notification.objects.filter(**filters).order_by("purpose", "channel", "-offset_days", "due_at"))


def summary(**filters) -> list[tuple]:
    """(purpose, channel, offset_days, status, skip_reason) of the rows, in a stable order."""
    return [(n.purpose, n.channel, n.offset_days, n.status, n.skip_reason) for n in rows(**filters)]

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


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """The queueing job as `run_jobs` runs it; the deliveries it enqueues run inline (eager)."""
    from notifications import services

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return services.notifications_queue()

    return run


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """An aiosmtpd handler that keeps what it receives and can refuse the next N messages with a 451."""

    def __init__(self):
        self.envelopes = []
        self.refuse_next = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    import logging

    from aiosmtpd.controller import Controller

    # aiosmtpd logs from its own thread, which can outlive pytest's capture of this test.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = SmtpRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield handler
    finally:
        controller.stop()


def sms_to(phone: str) -> list[dict]:
    return [m for m in sms.outbox if m["to"] == phone]

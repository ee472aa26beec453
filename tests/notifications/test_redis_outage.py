"""Issue 16, must show 6: Redis stops during bookings, and nothing is lost.

A real redis-server on a loopback port of its own, a real Celery worker on it and a real SMTP server
(aiosmtpd). Redis is killed for a few seconds (bench/booking.py --redis-outage 60 does a minute under
HTTP load): bookings made meanwhile still answer 201 at once, since their outbox rows are in the
database and only the after-commit send of their delivery tasks fails; the reminders falling due in
that time and those bookings' confirmations are sent once Redis is back, by the queueing job (beat's
`notifications.queue`, or `manage.py run_jobs`), each exactly once.

The worker runs on the real clock (no time_machine in another process): the clinic's zone is chosen so
that its local time is about noon whenever the test runs, and quiet hours are off.
"""

import email
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from email import policy as email_policy

import pytest
from django.utils import timezone
from kombu import pools as kombu_pools

from clinic.celery import app as celery_app
from notifications import services
from notifications.models import Notification, ReminderPolicy
from tests.factories import ClinicianFactory, LocationFactory, PatientFactory, WorkingHoursFactory
from tests.notifications.conftest import free_port
from tests.workers import running_worker, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

OUTAGE = timedelta(seconds=4)
DURING_OUTAGE = 3  # bookings made while Redis is down
REMINDERS_DUE = 3  # reminders that fall due while Redis is down


class RedisServer:
    """redis-server as a subprocess on a free loopback port, with no persistence: a restart starts empty."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self._answers, timeout=10), "redis-server did not start"

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        assert not self._answers()

    def _answers(self) -> bool:
        result = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return result.stdout.strip() == "PONG"


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _forget_broker_connections() -> None:
    """Drop this process's connections to the broker. kombu keeps producer pools in a registry of its own
    (kombu.pools): closing the app's pool alone left a closed one there for the next test that sends."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu_pools.reset()


@contextmanager
def celery_broker(url: str):
    """This process sends its tasks to `url` (and to a worker there, not inline) for the block."""
    conf = celery_app.conf
    saved = {name: conf[name] for name in ("broker_url", "broker_transport_options")}
    saved_environ = os.environ.get("CELERY_BROKER_URL")  # Celery reads it before its configuration
    conf.broker_url, conf.broker_transport_options = url, {"visibility_timeout": 3600}
    os.environ["CELERY_BROKER_URL"] = url
    _forget_broker_connections()
    try:
        yield
    finally:
        conf.update(saved)
        if saved_environ is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_environ
        _forget_broker_connections()


def _local_noon_zone() -> str:
    """A fixed-offset zone in which it is about noon now (Etc/GMT-N is N hours east of UTC)."""
    east = (12 - timezone.now().astimezone(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" if east == 0 else f"Etc/GMT{-east:+d}"


def _message_ids(smtp_server) -> list[str]:
    ids = []
    for envelope in smtp_server.envelopes:
        message = email.message_from_bytes(envelope.original_content, policy=email_policy.default)
        ids.append(message["Message-ID"].strip())
    return ids


def _expected_id(row: Notification) -> str:
    return f"<notification-{row.id}@cycledesk.example>"


def test_bookings_succeed_while_redis_is_down_and_every_message_due_then_goes_out_once_after(
    front_desk_client, redis_server, smtp_server, settings
):
    zone = _local_noon_zone()
    location = LocationFactory(name="Outage clinic", time_zone=zone)
    clinicians = []
    for index in range(REMINDERS_DUE + DURING_OUTAGE + 1):
        clinician = ClinicianFactory(name=f"Dr Outage {index}")
        clinician.locations.add(location)
        for weekday in range(7):
            WorkingHoursFactory(
                clinician=clinician, location=location, weekday=weekday, start_time=clock(6), end_time=clock(20)
            )
        clinicians.append(clinician)
    free_clinicians = iter(clinicians)
    quiet_off = {"quiet_start": clock(0), "quiet_end": clock(0)}  # never quiet: the worker's clock is real
    ReminderPolicy.current()
    ReminderPolicy.objects.update(email_days_before=[1], sms_days_before=[], diary_every_days=0, **quiet_off)
    ReminderPolicy.forget()

    def book(start: datetime) -> tuple[int, float, str]:
        patient = PatientFactory(email_opt_in=True, sms_opt_in=False, time_zone=zone)
        body = {
            "patient": str(patient.pk),
            "clinician": str(next(free_clinicians).pk),
            "location": str(location.pk),
            "start": start.isoformat(),
            "kind": "consultation",
        }
        began = time.perf_counter()
        response = front_desk_client.post("/api/v1/sessions/", body, format="json")
        return response.status_code, time.perf_counter() - began, response.json().get("id")

    worker_env = {
        "CELERY_BROKER_URL": redis_server.url,
        "EMAIL_BACKEND": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(settings.EMAIL_PORT),  # the smtp_server fixture's
        "NOTIFICATION_CLAIM_TIMEOUT_SECONDS": "600",
    }
    with celery_broker(redis_server.url), running_worker(extra_env=worker_env, concurrency=2) as worker:
        # Before: sessions whose day-before reminder falls due while Redis will be down.
        outage_starts = timezone.now() + timedelta(seconds=2)
        reminder_sessions = []
        for k in range(REMINDERS_DUE):
            due = outage_starts + OUTAGE * (k + 1) / (REMINDERS_DUE + 1)
            status, _, session_id = book(due + timedelta(days=1))
            assert status == 201
            reminder_sessions.append(session_id)
        confirmations_before = Notification.objects.filter(
            session_id__in=reminder_sessions, purpose="booking_confirmation"
        )
        live = wait_for(lambda: len(smtp_server.envelopes) == REMINDERS_DUE, timeout=60)
        assert live, "".join(worker.output[-30:])  # the live path works
        assert sorted(_message_ids(smtp_server)) == sorted(_expected_id(n) for n in confirmations_before)

        time.sleep(max(0.0, (outage_starts - timezone.now()).total_seconds()))
        redis_server.kill()
        down_since = timezone.now()
        during = [book(timezone.now() + timedelta(days=2, hours=k)) for k in range(DURING_OUTAGE)]
        assert [status for status, _, _ in during] == [201] * DURING_OUTAGE
        assert max(seconds for _, seconds, _ in during) < 2.0  # answered at once: no wait on the broker
        during_ids = [session_id for _, _, session_id in during]
        held = Notification.objects.filter(session_id__in=during_ids, purpose="booking_confirmation")
        assert held.count() == DURING_OUTAGE
        assert set(held.values_list("status", "enqueued_at")) == {("pending", None)}  # in the database, unsent

        time.sleep(max(0.0, (down_since + OUTAGE - timezone.now()).total_seconds()))
        reminders = Notification.objects.filter(session_id__in=reminder_sessions, purpose="reminder")
        assert reminders.count() == REMINDERS_DUE
        assert all(n.due_at <= timezone.now() for n in reminders)  # all fell due while Redis was down
        assert all(n.due_at >= down_since - timedelta(seconds=1) for n in reminders)
        assert len(smtp_server.envelopes) == REMINDERS_DUE  # nothing could go meanwhile

        redis_server.start()  # back, empty (no persistence): any task it held is gone too
        status, _, after_id = book(timezone.now() + timedelta(days=3))
        assert status == 201  # the web process reconnects by itself
        result = services.notifications_queue()  # beat's 5-minute job, now
        assert result.enqueued >= DURING_OUTAGE + REMINDERS_DUE

        expected = [
            *confirmations_before,
            *held,
            *reminders,
            *Notification.objects.filter(session_id=after_id, purpose="booking_confirmation"),
        ]
        after = wait_for(lambda: len(smtp_server.envelopes) >= len(expected), timeout=90)
        assert after, f"{len(smtp_server.envelopes)} of {len(expected)} sent\n" + "".join(worker.output[-30:])
        services.notifications_queue()  # a second run sends nothing again
        time.sleep(2)

    assert sorted(_message_ids(smtp_server)) == sorted(_expected_id(n) for n in expected)  # each exactly once
    sent = Notification.objects.filter(id__in=[n.id for n in expected])
    assert set(sent.values_list("status", flat=True)) == {"sent"}
    assert services.deliver_due() == {}  # and the cron fallback finds nothing left

"""Must show 1: against a real SMTP server on loopback, a reminder arrives once with its .ics."""

import email
import logging
from datetime import UTC, date, datetime, timedelta
from email import policy

import icalendar
import pytest
from aiosmtpd.controller import Controller

from notifications import services
from notifications.models import Notification
from notifications.tasks import deliver
from tests.factories import PatientFactory
from tests.notifications.conftest import at, book, free_port

pytestmark = pytest.mark.django_db


def calendar_parts(raw: bytes) -> list[bytes]:
    message = email.message_from_bytes(raw, policy=policy.default)
    return [part.get_content() for part in message.walk() if part.get_content_type() == "text/calendar"]


def test_a_reminder_arrives_once_over_smtp_with_an_ics_at_the_sessions_start_in_utc(
    now, patient, clinician, location, smtp_server, run_jobs
):
    start = at(date(2027, 4, 1), 10)  # 09:00 UTC: London is on summer time by then
    session = book(patient, clinician, location, start)
    reminder = Notification.objects.get(session=session, purpose="reminder", channel="email", offset_days=1)
    Notification.objects.filter(session=session).exclude(id=reminder.id).update(status="skipped", skip_reason="test")

    now.move_to(start - timedelta(days=1))
    run_jobs()
    deliver.delay(str(reminder.id))  # a second delivery of the same row: a no-op
    run_jobs()

    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == [patient.email]
    message = email.message_from_bytes(envelope.original_content, policy=policy.default)
    # The header is folded on the wire (it is longer than 78 characters); unfolded it is ours.
    assert message["Message-ID"].strip() == f"<notification-{reminder.id}@cycledesk.example>"
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html", "text/calendar"}

    (ics,) = calendar_parts(envelope.original_content)
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    dtstart = event.decoded("dtstart")
    assert dtstart == start
    assert dtstart.astimezone(UTC) == datetime(2027, 4, 1, 9, 0, tzinfo=UTC)
    assert event.decoded("dtend") - dtstart == session.end - session.start
    assert str(event["uid"]) == f"session-{session.id}@cycledesk.example"

    reminder.refresh_from_db()
    assert (reminder.status, reminder.provider_message_id) == ("sent", message["Message-ID"].strip())


def test_running_delivery_twice_over_smtp_sends_one_message(now, patient, smtp_server):
    row = Notification.objects.create(
        patient=patient, purpose="diary_request", channel="email", due_at=now_utc(), dedupe_key="diary:once"
    )
    assert services.notification_deliver(notification_id=row.id) == "sent"
    assert services.notification_deliver(notification_id=row.id) == "not_claimed"
    assert len(smtp_server.envelopes) == 1


def now_utc():
    from django.utils import timezone

    return timezone.now()


class PeerRecorder:
    """Keeps each message's Message-ID and the client address and port of the SMTP session that carried it."""

    def __init__(self):
        self.received: list[tuple[tuple, str]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((session.peer, message["Message-ID"].strip()))
        return "250 OK"


@pytest.fixture
def smtp_sink(settings):
    """A loopback SMTP server that can be restarted on its port (as a relay restarting drops its sessions)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler, port = PeerRecorder(), free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        port,
        False,
        5,
    )
    controllers = [Controller(handler, hostname="127.0.0.1", port=port)]
    controllers[0].start()

    def restart():
        controllers[-1].stop()
        controllers.append(Controller(handler, hostname="127.0.0.1", port=port))
        controllers[-1].start()

    handler.restart = restart
    try:
        yield handler
    finally:
        controllers[-1].stop()


def diary_rows(tag: str, count: int) -> list[Notification]:
    return [
        Notification.objects.create(
            patient=PatientFactory(time_zone="Europe/London"),
            purpose="diary_request",
            channel="email",
            due_at=now_utc(),
            dedupe_key=f"{tag}:{i}",
        )
        for i in range(count)
    ]


def test_a_batch_goes_over_one_smtp_session_and_the_next_batch_reuses_it(db, smtp_sink):
    first, second = diary_rows("a", 4), diary_rows("b", 3)
    services.notifications_deliver_batch(notification_ids=[n.id for n in first])
    services.notifications_deliver_batch(notification_ids=[n.id for n in second])

    peers = {peer for peer, _ in smtp_sink.received}
    assert len(peers) == 1
    assert sorted(mid for _, mid in smtp_sink.received) == sorted(n.message_id for n in first + second)


def test_a_dropped_smtp_session_is_reopened_and_its_rows_retried_not_lost_or_repeated(db, smtp_sink):
    before, after = diary_rows("before", 2), diary_rows("after", 3)
    services.notifications_deliver_batch(notification_ids=[n.id for n in before])
    smtp_sink.restart()  # the held session is now a dead socket

    ids = [n.id for n in after]
    outcomes = services.notifications_deliver_batch(notification_ids=ids)
    assert set(outcomes.values()) == {"retry"}  # the first send failed: the batch stops, nothing is claimed
    failed = Notification.objects.filter(id__in=ids, attempts=1)
    assert failed.count() == 1 and set(Notification.objects.filter(id__in=ids).values_list("status", flat=True)) == {
        "pending"
    }

    assert set(services.notifications_deliver_batch(notification_ids=ids).values()) == {"sent"}  # the retry
    message_ids = [mid for _, mid in smtp_sink.received]
    assert sorted(message_ids) == sorted(n.message_id for n in before + after)  # each once
    assert len({peer for peer, _ in smtp_sink.received}) == 2

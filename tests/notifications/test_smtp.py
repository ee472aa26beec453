"""Must show 1: against a real SMTP server on loopback, a reminder arrives once with its .ics."""

import email
from datetime import UTC, date, datetime, timedelta
from email import policy

import icalendar
import pytest

from notifications import services
from notifications.models import Notification
from notifications.tasks import deliver
from tests.notifications.conftest import at, book

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

"""Two workers at once, with real threads on PostgreSQL: one claim wins, and the SMS cap holds."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.db import connection

from notifications import services
from notifications.models import Notification
from tests.factories import PatientFactory
from tests.notifications.conftest import sms_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOON = datetime(2027, 3, 1, 12, tzinfo=UTC)


def race(ids: list, workers: int = 4) -> list[str]:
    outcomes: list[str] = []
    barrier = threading.Barrier(workers)

    def work(notification_id):
        try:
            barrier.wait()
            outcomes.append(services.notification_deliver(notification_id=notification_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(ids[i % len(ids)],)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_four_workers_delivering_one_row_send_it_once():
    with time_machine.travel(NOON, tick=False):
        patient = PatientFactory(time_zone="Europe/London")
        row = Notification.objects.create(
            patient=patient, purpose="diary_request", channel="email", due_at=NOON, dedupe_key="race:one"
        )
        assert race([row.id]) == ["not_claimed", "not_claimed", "not_claimed", "sent"]
    assert len(mail.outbox) == 1


def test_two_sms_for_one_patient_at_once_respect_the_daily_cap():
    with time_machine.travel(NOON, tick=False):
        patient = PatientFactory(time_zone="Europe/London", sms_opt_in=True, phone="+447700900321")
        rows = [
            Notification.objects.create(
                patient=patient, purpose="diary_request", channel="sms", due_at=NOON, dedupe_key=f"race:sms:{i}"
            )
            for i in range(2)
        ]
        assert race([r.id for r in rows], workers=2) == ["defer:sms_cap", "sent"]
    assert len(sms_to(patient.phone)) == 1

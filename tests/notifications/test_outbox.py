"""Rows in the outbox: what booking, moving and cancelling a session create and withdraw."""

from datetime import UTC, date, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from cycles.models import Protocol
from notifications import services
from notifications.models import Notification, ReminderPolicy
from scheduling.models import Session
from scheduling.services import session_cancel, session_reschedule
from tests.factories import SessionFactory
from tests.notifications.conftest import at, book, rows, summary

pytestmark = pytest.mark.django_db

S = Notification.Status


def test_booking_creates_a_confirmation_and_the_default_reminders_at_start_minus_n_days(
    now, patient, clinician, location
):
    start = at(date(2027, 3, 15), 10).astimezone(UTC)
    session = book(patient, clinician, location, start)

    assert summary(session=session) == [
        ("booking_confirmation", "email", 0, "pending", ""),
        ("reminder", "email", 7, "pending", ""),
        ("reminder", "email", 1, "pending", ""),
        ("reminder", "sms", 1, "pending", ""),
    ]
    due = {(n.channel, n.offset_days): n.due_at for n in rows(session=session, purpose="reminder")}
    # N × 24 h of elapsed time (London moves to summer time on 28 March, not in between).
    assert due == {
        ("email", 7): start - timedelta(days=7),
        ("email", 1): start - timedelta(days=1),
        ("sms", 1): start - timedelta(days=1),
    }


def test_n_days_before_is_elapsed_time_across_a_dst_change(now, patient, clinician, location):
    # London springs forward on 28 March 2027: 7 × 24 h before 10:00 BST on 1 April is 09:00 GMT on 25 March.
    start = at(date(2027, 4, 1), 10).astimezone(UTC)
    session = book(patient, clinician, location, start)
    seven = Notification.objects.get(session=session, offset_days=7)
    assert seven.due_at == start - timedelta(days=7)
    assert seven.due_at.astimezone(location.zone).hour == 9


def test_a_reminder_already_past_at_booking_is_skipped_too_late(now, patient, clinician, location):
    session = book(patient, clinician, location, at(date(2027, 3, 5), 10))  # 4 days away

    assert summary(session=session, purpose="reminder") == [
        ("reminder", "email", 7, "skipped", "too_late"),
        ("reminder", "email", 1, "pending", ""),
        ("reminder", "sms", 1, "pending", ""),
    ]


def test_the_confirmation_goes_by_sms_when_the_patient_has_no_email_consent(now, patient, clinician, location):
    patient.email_opt_in = False
    patient.save()
    session = book(patient, clinician, location, at(date(2027, 3, 15), 10))
    assert Notification.objects.get(session=session, purpose="booking_confirmation").channel == "sms"


def test_cancelling_skips_every_pending_row_and_queues_a_cancellation_notice(now, patient, clinician, location):
    session = book(patient, clinician, location, at(date(2027, 3, 15), 10))
    session_cancel(session=session, reason="patient away", by=None)

    assert summary(session=session) == [
        ("booking_confirmation", "email", 0, "skipped", "session_cancelled"),
        ("cancellation", "email", 0, "pending", ""),
        ("reminder", "email", 7, "skipped", "session_cancelled"),
        ("reminder", "email", 1, "skipped", "session_cancelled"),
        ("reminder", "sms", 1, "skipped", "session_cancelled"),
    ]


def test_rescheduling_withdraws_the_old_reminders_and_makes_new_ones(now, patient, clinician, location):
    old = at(date(2027, 3, 15), 10)
    new = at(date(2027, 3, 22), 14).astimezone(UTC)
    session = book(patient, clinician, location, old)
    session_reschedule(session=session, start=new, by=None)

    reminders = rows(session=session, purpose="reminder")
    assert sorted((n.session_start == new, n.channel, n.offset_days, n.status, n.skip_reason) for n in reminders) == [
        (False, "email", 1, "skipped", "session_rescheduled"),
        (False, "email", 7, "skipped", "session_rescheduled"),
        (False, "sms", 1, "skipped", "session_rescheduled"),
        (True, "email", 1, "pending", ""),
        (True, "email", 7, "pending", ""),
        (True, "sms", 1, "pending", ""),
    ]
    assert {n.due_at for n in reminders if n.status == S.PENDING} == {new - timedelta(days=7), new - timedelta(days=1)}
    assert summary(session=session, purpose="reschedule") == [("reschedule", "email", 0, "pending", "")]
    # The confirmation still pending announced the old time: withdrawn too.
    assert summary(session=session, purpose="booking_confirmation")[0][3:] == ("skipped", "session_rescheduled")


def test_the_dedupe_key_is_unique_in_the_database(now, patient, clinician, location):
    session = book(patient, clinician, location, at(date(2027, 3, 15), 10))
    existing = Notification.objects.filter(session=session).first()
    with pytest.raises(IntegrityError):
        Notification.objects.create(
            patient=patient,
            purpose=existing.purpose,
            channel=existing.channel,
            due_at=existing.due_at,
            dedupe_key=existing.dedupe_key,
        )


def test_the_queueing_job_fills_in_reminders_for_sessions_booked_without_them(now, patient, location, clinician):
    # Sessions written without the booking service (an import, the admin): the job makes their rows.
    sessions = [
        SessionFactory(
            course=None, patient=patient, clinician=clinician, location=location, start=at(date(2027, 3, 10 + i), 10)
        )
        for i in range(3)
    ]
    first = services.notifications_queue()
    second = services.notifications_queue()

    assert first.reminders == 9
    assert second.reminders == 0  # idempotent
    for session in sessions:
        assert len(rows(session=session, purpose="reminder")) == 3


def test_the_queueing_job_makes_no_reminders_for_cancelled_or_past_sessions(now, patient, location, clinician):
    SessionFactory(
        course=None,
        patient=patient,
        clinician=clinician,
        location=location,
        start=at(date(2027, 3, 10), 10),
        status=Session.Status.CANCELLED,
    )
    SessionFactory(
        course=None,
        patient=patient,
        clinician=clinician,
        location=location,
        start=at(date(2027, 2, 10), 10),
        status=Session.Status.COMPLETED,
    )
    services.notifications_queue()
    assert Notification.objects.filter(purpose="reminder").count() == 0


def test_an_edited_policy_changes_the_reminders_of_new_bookings(now, patient, clinician, location):
    policy = ReminderPolicy.current()
    policy.email_days_before = [3]
    policy.sms_days_before = [2, 1]
    policy.save()
    session = book(patient, clinician, location, at(date(2027, 3, 15), 10))
    assert [(n.channel, n.offset_days) for n in rows(session=session, purpose="reminder")] == [
        ("email", 3),
        ("sms", 2),
        ("sms", 1),
    ]


def test_the_queueing_sweep_runs_a_constant_number_of_queries(now, location, clinician, django_assert_num_queries):
    from tests.factories import PatientFactory

    def sessions(n, day):
        for i in range(n):
            start = at(date(2027, 3, day), 8 + i % 10, i % 60)
            SessionFactory(course=None, patient=PatientFactory(), location=location, start=start)

    sessions(3, 10)
    ReminderPolicy.current()
    Protocol.default()
    # The policy comes from the process's cache (read above). 1 savepoint, 2 fail rows stuck too often,
    # 3 reclaim stuck rows, 4 sessions without reminders, 5 insert their reminders, 6 the protocol, 7 the
    # locations' zones, 8 courses due a next session (the due list's query), 9 patients due a diary request,
    # 10 release savepoint, 11 due pending ids
    with django_assert_num_queries(11):
        services.notifications_queue()
    # Five times the sessions, the same queries (SQLite splits an INSERT only past 999 parameters).
    sessions(15, 12)
    with django_assert_num_queries(11):
        result = services.notifications_queue()
    assert result.reminders == 45


def test_a_due_row_is_enqueued_once_until_its_task_looks_lost(now, patient, settings):
    settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS = 600
    Notification.objects.create(
        patient=patient, purpose="diary_request", channel="email", due_at=timezone.now(), dedupe_key="once"
    )
    # (The tasks go out on commit, which this test's transaction never reaches: only the counts matter.)
    assert services.notifications_queue().enqueued == 1
    now.shift(timedelta(minutes=5))
    assert services.notifications_queue().enqueued == 0  # its task is still in flight
    now.shift(timedelta(minutes=6))
    assert services.notifications_queue().enqueued == 1  # a worker died holding it: send another

"""Delivery: the claim, the send-time rules (consent, session state, quiet hours, SMS caps), retries."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from notifications import services
from notifications.models import Notification, ReminderPolicy
from notifications.tasks import deliver, deliver_batch
from scheduling.services import session_cancel, session_reschedule
from tests.factories import PatientFactory, SessionFactory
from tests.notifications.conftest import at, book, sms_to, summary

pytestmark = pytest.mark.django_db

S = Notification.Status


def make_row(patient, *, due_at, channel="sms", purpose="diary_request", key=None) -> Notification:
    return Notification.objects.create(
        patient=patient,
        purpose=purpose,
        channel=channel,
        due_at=due_at,
        dedupe_key=key or f"test:{patient.id}:{due_at.isoformat()}:{channel}:{purpose}",
    )


def test_a_second_delivery_of_the_same_row_is_a_no_op(now, patient):
    row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="email")

    assert services.notification_deliver(notification_id=row.id) == "sent"
    assert services.notification_deliver(notification_id=row.id) == "not_claimed"

    row.refresh_from_db()
    assert len(mail.outbox) == 1
    assert (row.status, row.attempts, row.sent_at) == (S.SENT, 1, datetime(2027, 3, 1, 12, tzinfo=UTC))
    assert row.provider_message_id == f"<notification-{row.id}@cycledesk.example>"
    assert mail.outbox[0].extra_headers["Message-ID"] == row.provider_message_id


def test_a_row_not_yet_due_is_not_claimed(now, patient):
    row = make_row(patient, due_at=datetime(2027, 3, 1, 12, 1, tzinfo=UTC))
    assert services.notification_deliver(notification_id=row.id) == "not_claimed"
    row.refresh_from_db()
    assert row.status == S.PENDING


def test_the_sms_provider_id_is_recorded(now, patient):
    row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC))
    deliver.delay(str(row.id))
    row.refresh_from_db()
    assert row.status == S.SENT
    assert sms_to(patient.phone)[0]["id"] == row.provider_message_id == f"notification-{row.id}"


# --- Must show 3: cancel, reschedule, STOP and START ----------------------------------------


def test_a_cancelled_sessions_reminders_are_skipped_and_never_sent(now, patient, clinician, location, run_jobs):
    start = at(date(2027, 3, 15), 10)
    session = book(patient, clinician, location, start)
    run_jobs()  # the confirmation goes now
    session_cancel(session=session, reason="away", by=None)
    run_jobs()  # the cancellation notice goes now

    now.move_to(start - timedelta(days=1))
    run_jobs()
    now.move_to(start - timedelta(hours=1))
    run_jobs()

    assert [m.subject for m in mail.outbox] == [
        "Riverside Clinic: Your appointment is booked",
        "Riverside Clinic: Your appointment on Mon 15 Mar 10:00 is cancelled",
    ]
    assert sms_to(patient.phone) == []
    assert summary(session=session, purpose="reminder") == [
        ("reminder", "email", 7, "skipped", "session_cancelled"),
        ("reminder", "email", 1, "skipped", "session_cancelled"),
        ("reminder", "sms", 1, "skipped", "session_cancelled"),
    ]


def test_a_session_cancelled_after_its_reminder_was_queued_is_caught_at_send_time(now, patient, location, clinician):
    # Written behind the service's back: only the send-time check stands between it and the patient.
    session = SessionFactory(
        course=None, patient=patient, clinician=clinician, location=location, start=at(date(2027, 3, 5), 10)
    )
    services.notifications_queue()
    queued = Notification.objects.filter(session=session, offset_days=1)
    assert {n.status for n in queued} == {S.PENDING}
    session.status = "cancelled"
    session.save()
    with time_machine.travel(at(date(2027, 3, 4), 10), tick=False):
        for row in queued:
            services.notification_deliver(notification_id=row.id)
    assert {(n.status, n.skip_reason) for n in queued.all()} == {(S.SKIPPED, "session_cancelled")}
    assert mail.outbox == [] and sms_to(patient.phone) == []


def test_a_rescheduled_session_gets_its_reminders_for_the_new_time_only(now, patient, clinician, location, run_jobs):
    old, new = at(date(2027, 3, 15), 10), at(date(2027, 3, 22), 14)
    session = book(patient, clinician, location, old)
    session_reschedule(session=session, start=new, by=None)
    run_jobs()  # the reschedule notice

    now.move_to(old - timedelta(days=1))  # when the old 1-day reminders were due
    run_jobs()
    assert [m.subject for m in mail.outbox] == ["Riverside Clinic: Your appointment has moved to Mon 22 Mar 14:00"]

    now.move_to(new - timedelta(days=1))
    run_jobs()
    assert mail.outbox[-1].subject == "Riverside Clinic: Reminder: your appointment on Mon 22 Mar 14:00"
    assert len(sms_to(patient.phone)) == 1
    assert "Mon 22 Mar 14:00" in sms_to(patient.phone)[0]["body"]


def test_stop_ends_sms_but_not_email_and_start_resumes_it(now, patient, clinician, location, run_jobs):
    first = book(patient, clinician, location, at(date(2027, 3, 15), 10))
    services.inbound_sms_receive(provider_message_id="SM1", from_number=patient.phone, body="Stop")

    now.move_to(at(date(2027, 3, 14), 10))
    run_jobs()
    assert summary(session=first, purpose="reminder", offset_days=1) == [
        ("reminder", "email", 1, "sent", ""),
        ("reminder", "sms", 1, "skipped", "no_consent"),
    ]
    assert sms_to(patient.phone) == []

    services.inbound_sms_receive(provider_message_id="SM2", from_number=patient.phone, body="START")
    second = book(patient, clinician, location, at(date(2027, 3, 25), 10))
    now.move_to(at(date(2027, 3, 24), 10))
    run_jobs()
    assert summary(session=second, purpose="reminder", offset_days=1) == [
        ("reminder", "email", 1, "sent", ""),
        ("reminder", "sms", 1, "sent", ""),
    ]
    assert len(sms_to(patient.phone)) == 1


@pytest.mark.parametrize(
    "word", ["STOP", "stopall", " Unsubscribe ", "CANCEL", "end", "QUIT", "revoke", "OPTOUT", "stop."]
)
def test_every_stop_family_word_turns_sms_consent_off(db, word):
    patient = PatientFactory(phone="+447700900555", sms_opt_in=True)
    services.inbound_sms_receive(provider_message_id=f"SM-{word}", from_number=patient.phone, body=word)
    patient.refresh_from_db()
    assert patient.sms_opt_in is False


def test_an_ordinary_reply_changes_no_consent(db):
    patient = PatientFactory(phone="+447700900555", sms_opt_in=True)
    services.inbound_sms_receive(provider_message_id="SM-x", from_number=patient.phone, body="Please stop calling at 7")
    patient.refresh_from_db()
    assert patient.sms_opt_in is True


# --- Must show 4: quiet hours and SMS caps across zones, time pinned -------------------------


def test_a_reminder_due_at_2330_local_is_held_and_goes_out_at_0800(patient, clinician, location, run_jobs):
    """A Tokyo patient of the London clinic: 14:30 London on 16 March is 23:30 in Tokyo."""
    patient.time_zone = "Asia/Tokyo"
    patient.save()
    with time_machine.travel(datetime(2027, 3, 1, 12, tzinfo=UTC), tick=False) as clock:
        start = at(date(2027, 3, 16), 14, 30)
        session = book(patient, clinician, location, start)
        due = start - timedelta(days=1)
        assert due.astimezone(patient_zone(patient)).strftime("%H:%M") == "23:30"

        clock.move_to(due)
        run_jobs()
        reminders = Notification.objects.filter(session=session, purpose="reminder", offset_days=1)
        eight = at(date(2027, 3, 16), 8, tz="Asia/Tokyo")
        assert {(n.status, n.due_at) for n in reminders.all()} == {(S.PENDING, eight)}  # held, not dropped

        clock.move_to(eight - timedelta(minutes=1))
        run_jobs()
        assert not reminders.filter(status=S.SENT).exists()

        clock.move_to(eight)
        run_jobs()
        assert {(n.channel, n.status, n.sent_at) for n in reminders.all()} == {
            ("email", S.SENT, eight),
            ("sms", S.SENT, eight),
        }


def patient_zone(patient):
    from zoneinfo import ZoneInfo

    return ZoneInfo(patient.time_zone)


@pytest.mark.parametrize(
    ("zone", "local_now", "held_until"),
    [
        ("America/New_York", datetime(2027, 3, 13, 22, 15), datetime(2027, 3, 14, 8)),  # DST starts that night
        ("America/New_York", datetime(2027, 3, 14, 7, 59), datetime(2027, 3, 14, 8)),
        ("Europe/London", datetime(2027, 3, 27, 21, 0), datetime(2027, 3, 28, 8)),  # BST starts that night
        ("Europe/London", datetime(2027, 3, 28, 0, 30), datetime(2027, 3, 28, 8)),
        ("Asia/Tokyo", datetime(2027, 3, 1, 23, 30), datetime(2027, 3, 2, 8)),
        ("Asia/Tokyo", datetime(2027, 3, 1, 20, 59), None),
        ("Europe/London", datetime(2027, 3, 1, 8, 0), None),
    ],
)
def test_quiet_hours_hold_a_delivery_until_0800_in_the_patients_zone(db, zone, local_now, held_until):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    patient = PatientFactory(time_zone=zone)
    instant = local_now.replace(tzinfo=tz)
    with time_machine.travel(instant, tick=False):
        row = make_row(patient, due_at=instant - timedelta(minutes=5), channel="email")
        outcome = services.notification_deliver(notification_id=row.id)
    row.refresh_from_db()
    if held_until is None:
        assert (outcome, row.status) == ("sent", S.SENT)
    else:
        assert (outcome, row.status) == ("defer:quiet_hours", S.PENDING)
        assert row.due_at == held_until.replace(tzinfo=tz)
        assert row.due_at.astimezone(tz).hour == 8


def test_a_second_sms_on_the_same_local_day_waits_for_the_next_morning(db):
    """Tokyo: 23:30 UTC on 1 March and 10:00 UTC on 2 March are both 2 March locally."""
    patient = PatientFactory(time_zone="Asia/Tokyo", sms_opt_in=True)
    with time_machine.travel(datetime(2027, 3, 1, 23, 30, tzinfo=UTC), tick=False) as clock:
        first = make_row(patient, due_at=datetime(2027, 3, 1, 23, tzinfo=UTC), key="first")
        second = make_row(patient, due_at=datetime(2027, 3, 1, 23, tzinfo=UTC), key="second")
        assert services.notification_deliver(notification_id=first.id) == "sent"
        clock.move_to(datetime(2027, 3, 2, 10, 0, tzinfo=UTC))  # 19:00 in Tokyo, same day
        assert services.notification_deliver(notification_id=second.id) == "defer:sms_cap"
        second.refresh_from_db()
        assert second.due_at == at(date(2027, 3, 3), 8, tz="Asia/Tokyo")

        clock.move_to(second.due_at)
        assert services.notification_deliver(notification_id=second.id) == "sent"
    assert len(sms_to(patient.phone)) == 2


def test_a_fourth_sms_in_seven_days_is_deferred_not_lost(db):
    patient = PatientFactory(time_zone="America/New_York", sms_opt_in=True)
    days = [at(date(2027, 3, d), 9, tz="America/New_York") for d in (1, 2, 3, 4)]
    for i, day in enumerate(days):
        with time_machine.travel(day, tick=False):
            row = make_row(patient, due_at=day, key=f"week-{i}")
            outcome = services.notification_deliver(notification_id=row.id)
    assert outcome == "defer:sms_cap"
    row.refresh_from_db()
    assert row.due_at == days[0] + timedelta(days=7)  # when the first falls out of the rolling week
    with time_machine.travel(row.due_at - timedelta(minutes=1), tick=False):
        assert services.notification_deliver(notification_id=row.id) == "not_claimed"
    with time_machine.travel(row.due_at, tick=False):
        assert services.notification_deliver(notification_id=row.id) == "sent"
    assert len(sms_to(patient.phone)) == 4


def test_sms_caps_are_per_patient(db):
    a = PatientFactory(time_zone="Europe/London", sms_opt_in=True)
    b = PatientFactory(time_zone="Europe/London", sms_opt_in=True)
    with time_machine.travel(datetime(2027, 3, 1, 12, tzinfo=UTC), tick=False):
        for patient in (a, b):
            row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC))
            assert services.notification_deliver(notification_id=row.id) == "sent"


def test_email_is_not_capped(now, patient):
    for i in range(3):
        row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="email", key=f"e{i}")
        assert services.notification_deliver(notification_id=row.id) == "sent"


# --- consent, reclaim, retries ----------------------------------------------------------------


def test_consent_is_checked_at_send_time_not_only_at_queue_time(now, patient):
    row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="email")
    patient.email_opt_in = False
    patient.save()
    assert services.notification_deliver(notification_id=row.id) == "skip:no_consent"
    assert mail.outbox == []


def test_a_row_stuck_in_sending_is_reclaimed_after_the_timeout(now, patient, settings, run_jobs):
    settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS = 600
    row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="email")
    Notification.objects.filter(id=row.id).update(status=S.SENDING, claimed_at=datetime(2027, 3, 1, 11, 51, tzinfo=UTC))
    assert run_jobs().reclaimed == 0  # 9 minutes: its worker may still be sending

    Notification.objects.filter(id=row.id).update(claimed_at=datetime(2027, 3, 1, 11, 49, tzinfo=UTC))
    result = run_jobs()
    row.refresh_from_db()
    assert result.reclaimed == 1
    assert (row.status, row.attempts) == (S.SENT, 2)
    assert len(mail.outbox) == 1


@pytest.fixture
def eager_retries():
    """Celery applies eager retries inline only when eager errors do not propagate."""
    from clinic.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def test_a_transient_smtp_refusal_is_retried_until_it_goes(now, patient, smtp_server, eager_retries):
    smtp_server.refuse_next = 2
    row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="email")
    # Inline, with retries applied as Celery applies them eagerly (countdowns are not waited for).
    deliver.delay(str(row.id))
    row.refresh_from_db()
    assert (row.status, row.attempts, len(smtp_server.envelopes)) == (S.SENT, 3, 1)


def test_a_message_refused_every_time_is_marked_failed_after_the_last_retry(now, patient, smtp_server, eager_retries):
    smtp_server.refuse_next = 100
    row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="email")
    result = deliver.delay(str(row.id))
    assert result.successful()  # the last attempt marks the row failed instead of raising
    row.refresh_from_db()
    assert (row.status, row.attempts, smtp_server.envelopes) == (S.FAILED, services.MAX_ATTEMPTS, [])
    assert "451" in row.last_error


# --- batches ---------------------------------------------------------------------------------------------


def email_rows(count: int, *, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), tag="batch") -> list[Notification]:
    patients = [PatientFactory(time_zone="Europe/London") for _ in range(count)]
    return [make_row(p, due_at=due_at, channel="email", key=f"{tag}:{i}") for i, p in enumerate(patients)]


@pytest.mark.parametrize("count", [1, 5, 20])
def test_a_batch_costs_five_queries_and_two_per_email(now, count, django_assert_num_queries):
    rows = email_rows(count)
    ReminderPolicy.current()  # the process's cached policy, as a worker has it after its first task
    with django_assert_num_queries(5 + 2 * count):
        # 1. the due pending rows among the ids, with their patients, sessions, locations and courses
        # 2. the batch's existing patient links
        # 3. SAVEPOINT (the atomic block around the insert; outside a test's transaction it is BEGIN/COMMIT
        #    on the connection, which is not a query)
        # 4. one insert of the missing links
        # 5. RELEASE SAVEPOINT
        # per row: 6. its claim (compare-and-swap pending → sending), 7. its result (sending → sent)
        outcomes = services.notifications_deliver_batch(notification_ids=[str(n.id) for n in rows])
    assert outcomes == {str(n.id): "sent" for n in rows}
    assert len(mail.outbox) == count
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == {n.message_id for n in rows}


def test_a_batch_delivered_twice_sends_each_row_once_and_skips_what_the_rules_skip(now, patient):
    rows = email_rows(3)
    declined = PatientFactory(email_opt_in=False)
    skipped = make_row(declined, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="email", key="no-consent")
    later = make_row(patient, due_at=datetime(2027, 3, 1, 13, tzinfo=UTC), channel="email", key="later")
    sms_row = make_row(patient, due_at=datetime(2027, 3, 1, 11, tzinfo=UTC), channel="sms", key="sms")
    ids = [n.id for n in [*rows, skipped, later, sms_row]]

    first = services.notifications_deliver_batch(notification_ids=ids)
    second = services.notifications_deliver_batch(notification_ids=ids)

    assert first == {
        **{n.id: "sent" for n in rows},
        skipped.id: "skip:no_consent",
        later.id: "not_claimed",
        sms_row.id: "sent",
    }
    assert set(second.values()) == {"not_claimed"}
    assert len(mail.outbox) == 3 and len(sms_to(patient.phone)) == 1
    assert Notification.objects.get(id=skipped.id).status == S.SKIPPED


def test_more_due_rows_than_a_batch_all_go_out_once(now, run_jobs):
    rows = email_rows(services.delivery.BATCH + 3)
    run_jobs()  # eager: the tasks run inline, each over its batch
    assert len(mail.outbox) == len(rows)
    assert set(Notification.objects.values_list("status", flat=True)) == {S.SENT}


def test_a_batch_refused_midway_is_retried_from_the_refused_row_and_each_goes_once(now, smtp_server, eager_retries):
    rows = sorted(email_rows(4), key=lambda n: n.id)
    services.notifications_deliver_batch(notification_ids=[rows[0].id])  # the first goes now
    smtp_server.refuse_next = 2  # the second is refused twice, as a relay that is busy
    deliver_batch.delay([str(n.id) for n in rows])
    for n in rows:
        n.refresh_from_db()
    assert [n.status for n in rows] == [S.SENT] * 4
    assert [n.attempts for n in rows] == [1, 3, 1, 1]
    message_ids = [
        e.original_content.split(b"Message-ID:")[1].split(b">")[0].strip() + b">" for e in smtp_server.envelopes
    ]
    assert sorted(message_ids) == sorted(n.message_id.encode() for n in rows)

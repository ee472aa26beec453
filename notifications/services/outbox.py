"""The outbox: the rows a booking, move, cancellation or slot offer creates (DESIGN.md §5).

Rows are created inside the sending transaction: scheduling sends its session
events (`scheduling.events`), cycles its slot offers (`cycles.events`), and
`notifications.hooks` connects the receivers here. Each row due now is enqueued
for delivery after commit.
"""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.errors import Conflict
from notifications.models import Notification, ReminderPolicy
from patients.models import Patient
from scheduling.events import SessionEvent
from scheduling.models import Session
from scheduling.services import CANCEL_UNDO

Purpose = Notification.Purpose
Channel = Notification.Channel
Status = Notification.Status

CHUNK = 500
WAITING_STATUSES = (Session.Status.BOOKED, Session.Status.CONFIRMED)


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS)


def key(*parts) -> str:
    return ":".join(str(part) for part in parts)


def stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def preferred_channel(patient: Patient) -> str:
    """Email if the patient consents to it and has an address, else SMS (API.md, booking confirmation)."""
    if patient.email_opt_in and patient.email:
        return Channel.EMAIL
    if patient.sms_opt_in and patient.phone:
        return Channel.SMS
    return Channel.EMAIL


def _session_row(session: Session, purpose: str, channel: str, due_at: datetime, *, keyed_by_start: bool):
    parts = [session.id, purpose, 0, channel]
    if keyed_by_start:
        parts.append(stamp(session.start))
    return Notification(
        patient_id=session.patient_id,
        session_id=session.id,
        course_id=session.course_id,
        purpose=purpose,
        channel=channel,
        session_start=session.start,
        due_at=due_at,
        dedupe_key=key(*parts),
    )


def reminder_rows(*, session: Session, policy: ReminderPolicy, booked_at: datetime) -> list[Notification]:
    """The session's reminders for its current start. "N days before" is start − N × 24 h
    (elapsed time, as API.md says; quiet hours then hold it); one already past at
    booking is made skipped (`too_late`) so staff can see why nothing went."""
    rows = []
    for channel, days in policy.offsets():
        # In UTC: aware arithmetic in a local zone would keep the wall clock instead.
        due_at = session.start.astimezone(UTC) - timedelta(days=days)
        row = Notification(
            patient_id=session.patient_id,
            session_id=session.id,
            course_id=session.course_id,
            purpose=Purpose.REMINDER,
            channel=channel,
            offset_days=days,
            session_start=session.start,
            due_at=due_at,
            dedupe_key=key(session.id, Purpose.REMINDER, days, channel, stamp(session.start)),
        )
        if due_at < booked_at:
            row.status, row.skip_reason = Status.SKIPPED, "too_late"
        rows.append(row)
    return rows


def insert(rows: list[Notification]) -> None:
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK)


def enqueue_on_commit(ids: list[UUID]) -> None:
    """The rows' delivery tasks (a task per batch of rows), sent after commit."""
    if ids:
        from notifications.tasks import enqueue  # tasks.py imports this package for its task bodies

        transaction.on_commit(lambda: enqueue(ids))


def session_changed(*, session: Session, event: SessionEvent, undoable: bool = False) -> None:
    """Called (through `scheduling.events`) by the scheduling services inside their transaction.

    booked: a booking confirmation (due now, by email if the patient consents to
    it, else SMS) and the reminders for the session's start.
    rescheduled: pending rows made for the old start are skipped
    (`session_rescheduled`); a reschedule notice and the new reminders are made.
    cancelled: every pending row of the session is skipped (`session_cancelled`)
    and a cancellation notice is made; due at once, or after CANCEL_UNDO when staff
    may still undo the cancellation (`undoable`).
    restored (the undo): the held notice is withdrawn and the rows the cancellation
    skipped are pending again; a notice already sent or being sent refuses the undo.
    """
    now = timezone.now()
    if event == SessionEvent.BOOKED:
        sessions_booked(sessions=[session], now=now)
        return
    if event == SessionEvent.RESTORED:
        _cancellation_withdraw(session, now)
        return
    pending = Notification.objects.filter(session_id=session.id, status=Status.PENDING)
    channel = preferred_channel(session.patient)
    if event == SessionEvent.CANCELLED:
        pending.update(status=Status.SKIPPED, skip_reason="session_cancelled", updated_at=now)
        row = _session_row(
            session, Purpose.CANCELLATION, channel, now + CANCEL_UNDO if undoable else now, keyed_by_start=False
        )
        if undoable:
            # A session cancelled more than once (cancel, undo, cancel) gets a notice per cancellation.
            row.dedupe_key = key(row.dedupe_key, stamp(now))
        rows = [row]
    elif event == SessionEvent.RESCHEDULED:
        if session.status not in WAITING_STATUSES or session.start <= now:
            return
        pending.exclude(session_start=session.start).update(
            status=Status.SKIPPED, skip_reason="session_rescheduled", updated_at=now
        )
        rows = [_session_row(session, Purpose.RESCHEDULE, channel, now, keyed_by_start=True)]
        rows += reminder_rows(session=session, policy=ReminderPolicy.current(), booked_at=now)
    else:
        raise ValueError(f"unknown session event {event!r}")
    _insert_and_send(rows, now)


def _cancellation_withdraw(session: Session, now: datetime) -> None:
    notices = Notification.objects.filter(session_id=session.id, purpose=Purpose.CANCELLATION)
    if notices.filter(status__in=(Status.SENDING, Status.SENT)).exists():
        raise Conflict(
            "The patient has already been sent the cancellation: book the session again instead.",
            code="invalid_transition",
        )
    # The compare-and-swap on pending keeps a delivery that claims the notice now from racing the undo.
    notices.filter(status=Status.PENDING).update(
        status=Status.SKIPPED, skip_reason="session_not_cancelled", updated_at=now
    )
    if notices.filter(status__in=(Status.SENDING, Status.SENT)).exists():
        raise Conflict(
            "The patient has already been sent the cancellation: book the session again instead.",
            code="invalid_transition",
        )
    Notification.objects.filter(session_id=session.id, status=Status.SKIPPED, skip_reason="session_cancelled").exclude(
        purpose=Purpose.CANCELLATION
    ).update(status=Status.PENDING, skip_reason="", updated_at=now)


def sessions_booked(*, sessions: list[Session], now: datetime | None = None) -> None:
    """Booking confirmations and reminders for new sessions (with their patients loaded), in two queries
    whatever their number: the reminder policy and one insert. Past sessions (recorded history) get nothing."""
    now = now or timezone.now()
    sessions = [s for s in sessions if s.status in WAITING_STATUSES and s.start > now]
    if not sessions:
        return
    policy = ReminderPolicy.current()
    rows: list[Notification] = []
    for session in sessions:
        channel = preferred_channel(session.patient)
        rows.append(_session_row(session, Purpose.BOOKING_CONFIRMATION, channel, now, keyed_by_start=False))
        rows += reminder_rows(session=session, policy=policy, booked_at=now)
    _insert_and_send(rows, now)


def slot_offers_made(*, offers, now: datetime) -> None:
    """One `slot_offer` row per new offer (its patient and freed slot's session loaded), due now and held
    by quiet hours and the SMS caps at send time like every row: by email if the patient consents to it,
    else SMS. One insert whatever their number; the key makes each offer's row once."""
    rows = []
    for offer in offers:
        slot = offer.freed_slot.session
        channel = preferred_channel(offer.patient)
        rows.append(
            Notification(
                patient_id=offer.patient_id,
                session_id=slot.id,
                course_id=offer.course_id,
                purpose=Purpose.SLOT_OFFER,
                channel=channel,
                session_start=slot.start,
                due_at=now,
                dedupe_key=key(Purpose.SLOT_OFFER, offer.id, channel),
            )
        )
    _insert_and_send(rows, now)


def slot_offer_accepted(*, moved_from: Session | None) -> None:
    """A patient took a freed slot. The later treatment it replaced was moved, not lost: the cancellation
    notice made for it is withdrawn, and the new booking's confirmation tells the patient where they are."""
    if moved_from is None:
        return
    Notification.objects.filter(session_id=moved_from.id, purpose=Purpose.CANCELLATION, status=Status.PENDING).update(
        status=Status.SKIPPED, skip_reason="moved_to_offered_slot", updated_at=timezone.now()
    )


def _insert_and_send(rows: list[Notification], now: datetime) -> None:
    insert(rows)
    # Sent at once; the next queueing job may send it again (enqueued_at is left empty), a no-op.
    enqueue_on_commit([row.id for row in rows if row.status == Status.PENDING and row.due_at <= now])

"""The notification outbox: creating rows, the queueing sweep, and delivery.

Rows are created when a session is booked, moved or cancelled (`session_changed`,
inside the scheduling transaction) and by the queueing job every 5 minutes
(`notifications_queue`), which also fills in any reminder a session is missing.
Each due row is delivered by one task that claims it first, so a second run is a
no-op. Every rule is checked again at send time: consent, the session still being
active at the same time, quiet hours and the SMS caps.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinic.timezones import local_date, today_in
from notifications import rendering, rules
from notifications.channels import PermanentSendError, TransientSendError, email, sms
from notifications.models import InboundMessage, Notification, ReminderPolicy
from patients.models import Patient
from scheduling.models import Course, Protocol, Session

logger = logging.getLogger(__name__)

Purpose = Notification.Purpose
Channel = Notification.Channel
Status = Notification.Status

CHUNK = 500
# A first try and the task's five retries.
MAX_ATTEMPTS = 6
WAITING_STATUSES = (Session.Status.BOOKED, Session.Status.CONFIRMED)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP"})


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS)


def _key(*parts) -> str:
    return ":".join(str(part) for part in parts)


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def preferred_channel(patient: Patient) -> str:
    """Email if the patient consents to it and has an address, else SMS (API.md, booking confirmation)."""
    if patient.email_opt_in and patient.email:
        return Channel.EMAIL
    if patient.sms_opt_in and patient.phone:
        return Channel.SMS
    return Channel.EMAIL


# --- creating rows ---------------------------------------------------------------------


def _session_row(session: Session, purpose: str, channel: str, due_at: datetime, *, keyed_by_start: bool):
    key = [session.id, purpose, 0, channel]
    if keyed_by_start:
        key.append(_stamp(session.start))
    return Notification(
        patient_id=session.patient_id,
        session_id=session.id,
        course_id=session.course_id,
        purpose=purpose,
        channel=channel,
        session_start=session.start,
        due_at=due_at,
        dedupe_key=_key(*key),
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
            dedupe_key=_key(session.id, Purpose.REMINDER, days, channel, _stamp(session.start)),
        )
        if due_at < booked_at:
            row.status, row.skip_reason = Status.SKIPPED, "too_late"
        rows.append(row)
    return rows


def _insert(rows: list[Notification]) -> None:
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK)


def _enqueue_on_commit(ids: list[UUID]) -> None:
    from notifications.tasks import deliver

    if ids:
        transaction.on_commit(lambda: [deliver.delay(str(i)) for i in ids])


def session_changed(*, session: Session, event: str) -> None:
    """Called by the scheduling services inside their transaction.

    booked: a booking confirmation (due now, by email if the patient consents to
    it, else SMS) and the reminders for the session's start.
    rescheduled: pending rows made for the old start are skipped
    (`session_rescheduled`); a reschedule notice and the new reminders are made.
    cancelled: every pending row of the session is skipped (`session_cancelled`)
    and a cancellation notice is made.
    """
    now = timezone.now()
    if event == "booked":
        sessions_booked(sessions=[session], now=now)
        return
    pending = Notification.objects.filter(session_id=session.id, status=Status.PENDING)
    channel = preferred_channel(session.patient)
    if event == "cancelled":
        pending.update(status=Status.SKIPPED, skip_reason="session_cancelled", updated_at=now)
        rows = [_session_row(session, Purpose.CANCELLATION, channel, now, keyed_by_start=False)]
    elif event == "rescheduled":
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


def _insert_and_send(rows: list[Notification], now: datetime) -> None:
    _insert(rows)
    # Sent at once; the next queueing job may send it again (enqueued_at is left empty), a no-op.
    _enqueue_on_commit([row.id for row in rows if row.status == Status.PENDING and row.due_at <= now])


# --- the queueing job -----------------------------------------------------------------


@dataclass
class QueueResult:
    reclaimed: int = 0
    failed_stuck: int = 0
    reminders: int = 0
    next_session_due: int = 0
    diary_requests: int = 0
    enqueued: int = 0


def _reclaim_stuck(now: datetime, result: QueueResult) -> None:
    """Rows left in `sending` by a worker that died are given back (or failed after too many tries)."""
    stuck = Notification.objects.filter(status=Status.SENDING, claimed_at__lt=now - claim_timeout())
    result.failed_stuck = stuck.filter(attempts__gte=MAX_ATTEMPTS - 1).update(
        status=Status.FAILED, last_error="stuck in sending", attempts=F("attempts") + 1, updated_at=now
    )
    result.reclaimed = stuck.update(
        status=Status.PENDING, claimed_at=None, enqueued_at=None, attempts=F("attempts") + 1, updated_at=now
    )


def _queue_reminders(now: datetime, policy: ReminderPolicy, result: QueueResult) -> None:
    """Reminders for every upcoming session that has none for its current start."""
    if not policy.offsets():
        return
    has_rows = Notification.objects.filter(
        session_id=OuterRef("pk"), purpose=Purpose.REMINDER, session_start=OuterRef("start")
    )
    sessions = (
        Session.objects.filter(status__in=WAITING_STATUSES, start__gt=now)
        .exclude(Exists(has_rows))
        .only("id", "patient_id", "course_id", "start", "created_at")
        .order_by("start", "id")
    )
    last = None
    while True:
        page = sessions if last is None else sessions.filter(Q(start__gt=last[0]) | Q(start=last[0], id__gt=last[1]))
        chunk = list(page[:CHUNK])
        rows = [row for s in chunk for row in reminder_rows(session=s, policy=policy, booked_at=s.created_at)]
        _insert(rows)
        result.reminders += len(rows)
        if len(chunk) < CHUNK:
            return
        last = (chunk[-1].start, chunk[-1].id)


def _queue_next_session_due(now: datetime, result: QueueResult) -> None:
    """ "Time to book your next appointment": an active course whose last completed treatment's
    local date + min_interval_days is today or earlier, with no upcoming treatment booked.
    Once per last treatment (the key names it)."""
    shortest = Protocol.objects.aggregate(days=Min("min_interval_days"))["days"] or 0
    last = Session.objects.filter(
        course_id=OuterRef("pk"), kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED
    ).order_by("-start")
    upcoming = Session.objects.filter(
        patient_id=OuterRef("patient_id"),
        kind=Session.Kind.TREATMENT,
        status__in=Session.UPCOMING_STATUSES,
        start__gt=now,
    )
    told = Notification.objects.filter(
        course_id=OuterRef("pk"), purpose=Purpose.NEXT_SESSION_DUE, created_at__gt=OuterRef("last_start")
    )
    courses = (
        Course.objects.filter(status=Course.Status.ACTIVE, patient__status=Patient.Status.ACTIVE)
        .annotate(
            last_id=Subquery(last.values("id")[:1]),
            last_start=Subquery(last.values("start")[:1]),
            last_zone=Subquery(last.values("location__time_zone")[:1]),
        )
        # A coarse bound in SQL (a day of slack for the zones); the exact local-date rule below.
        .filter(last_start__isnull=False, last_start__lte=now - timedelta(days=max(shortest - 1, 0)))
        .exclude(Exists(upcoming))
        .exclude(Exists(told))  # already told since this last treatment
        .select_related("patient", "protocol")
        .order_by("id")
    )
    last_id = None
    while True:
        chunk = list((courses if last_id is None else courses.filter(id__gt=last_id))[:CHUNK])
        rows = []
        for course in chunk:
            zone = ZoneInfo(course.last_zone)
            due_from = local_date(course.last_start, zone) + timedelta(days=course.protocol.min_interval_days)
            if due_from > today_in(zone):
                continue
            channel = preferred_channel(course.patient)
            rows.append(
                Notification(
                    patient_id=course.patient_id,
                    course_id=course.id,
                    purpose=Purpose.NEXT_SESSION_DUE,
                    channel=channel,
                    due_at=now,
                    dedupe_key=_key(Purpose.NEXT_SESSION_DUE, course.id, course.last_id, channel),
                )
            )
        _insert(rows)
        result.next_session_due += len(rows)
        if len(chunk) < CHUNK:
            return
        last_id = chunk[-1].id


def _queue_diary_requests(now: datetime, policy: ReminderPolicy, result: QueueResult) -> None:
    """A diary link every `diary_every_days` (28) days to each active patient on an active course."""
    if not policy.diary_every_days:
        return
    recent = Notification.objects.filter(
        patient_id=OuterRef("pk"),
        purpose=Purpose.DIARY_REQUEST,
        created_at__gt=now - timedelta(days=policy.diary_every_days),
    )
    on_course = Course.objects.filter(patient_id=OuterRef("pk"), status=Course.Status.ACTIVE)
    patients = (
        Patient.objects.filter(status=Patient.Status.ACTIVE)
        .filter(Exists(on_course))
        .exclude(Exists(recent))
        .only("id", "email", "phone", "email_opt_in", "sms_opt_in")
        .order_by("id")
    )
    day = now.date().isoformat()
    last_id = None
    while True:
        chunk = list((patients if last_id is None else patients.filter(id__gt=last_id))[:CHUNK])
        rows = []
        for patient in chunk:
            channel = preferred_channel(patient)
            rows.append(
                Notification(
                    patient_id=patient.id,
                    purpose=Purpose.DIARY_REQUEST,
                    channel=channel,
                    due_at=now,
                    dedupe_key=_key(Purpose.DIARY_REQUEST, patient.id, day, channel),
                )
            )
        _insert(rows)
        result.diary_requests += len(rows)
        if len(chunk) < CHUNK:
            return
        last_id = chunk[-1].id


def _enqueue_due(now: datetime, result: QueueResult) -> None:
    """One delivery task per due pending row that has none in flight.

    A row whose task was sent more than the claim timeout ago and is still
    pending lost its task (a worker died holding it): it gets another. Sending a
    row's task twice is harmless anyway, the claim decides; this only keeps the
    queue from filling with repeats.
    """
    stale = now - claim_timeout()
    due = (
        Notification.objects.filter(status=Status.PENDING, due_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .order_by("id")
        .values_list("id", flat=True)
    )
    last_id = None
    while True:
        ids = list((due if last_id is None else due.filter(id__gt=last_id))[:CHUNK])
        if ids:
            Notification.objects.filter(id__in=ids).update(enqueued_at=now)
            _enqueue_on_commit(ids)
        result.enqueued += len(ids)
        if len(ids) < CHUNK:
            return
        last_id = ids[-1]


def notifications_queue() -> QueueResult:
    """The 5-minute job: reclaim stuck rows, create what the policy asks for, enqueue what is due."""
    now = timezone.now()
    result = QueueResult()
    policy = ReminderPolicy.current()
    with transaction.atomic():
        _reclaim_stuck(now, result)
        _queue_reminders(now, policy, result)
        _queue_next_session_due(now, result)
        _queue_diary_requests(now, policy, result)
    _enqueue_due(now, result)
    return result


# --- delivery --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    action: str  # "send" | "skip" | "defer"
    reason: str = ""
    until: datetime | None = None


SEND = Verdict("send")


def _check_session(n: Notification, now: datetime) -> Verdict | None:
    session = n.session
    if n.purpose == Purpose.CANCELLATION:
        if session.status != Session.Status.CANCELLED:
            return Verdict("skip", "session_not_cancelled")
        return None
    if session.status == Session.Status.CANCELLED:
        return Verdict("skip", "session_cancelled")
    if session.status not in WAITING_STATUSES:
        return Verdict("skip", f"session_{session.status}")
    if n.session_start is not None and session.start != n.session_start:
        return Verdict("skip", "session_rescheduled")
    if session.start <= now:
        return Verdict("skip", "too_late")
    return None


def _check_next_session_due(n: Notification, now: datetime) -> Verdict | None:
    if n.course is not None and n.course.status != Course.Status.ACTIVE:
        return Verdict("skip", "course_inactive")
    booked = Session.objects.filter(
        patient_id=n.patient_id, kind=Session.Kind.TREATMENT, status__in=Session.UPCOMING_STATUSES, start__gt=now
    ).exists()
    return Verdict("skip", "already_booked") if booked else None


def _check_consent(n: Notification) -> Verdict | None:
    patient = n.patient
    if n.channel == Channel.EMAIL:
        if not patient.email_opt_in:
            return Verdict("skip", "no_consent")
        if not patient.email:
            return Verdict("skip", "no_address")
    else:
        if not patient.sms_opt_in:
            return Verdict("skip", "no_consent")
        if not patient.phone:
            return Verdict("skip", "no_address")
    return None


def _sms_sent_times(n: Notification, since: datetime) -> list[datetime]:
    """The patient's other SMS sent, or claimed and being sent, since `since`."""
    return list(
        Notification.objects.filter(patient_id=n.patient_id, channel=Channel.SMS)
        .filter(Q(status=Status.SENT, sent_at__gt=since) | Q(status=Status.SENDING, claimed_at__gt=since))
        .exclude(id=n.id)
        .annotate(at=Coalesce("sent_at", "claimed_at"))
        .values_list("at", flat=True)
    )


def send_time_verdict(n: Notification, now: datetime, policy: ReminderPolicy) -> Verdict:
    if n.patient.status == Patient.Status.DISCHARGED:
        return Verdict("skip", "patient_discharged")
    if n.session_id is not None:
        verdict = _check_session(n, now)
        if verdict:
            return verdict
    if n.purpose == Purpose.NEXT_SESSION_DUE:
        verdict = _check_next_session_due(n, now)
        if verdict:
            return verdict
    verdict = _check_consent(n)
    if verdict:
        return verdict
    zone = ZoneInfo(n.patient.time_zone)
    held = rules.hold_for_quiet_hours(now, zone, policy.quiet_start, policy.quiet_end)
    if held != now:
        return Verdict("defer", "quiet_hours", held)
    if n.channel == Channel.SMS:
        sent = _sms_sent_times(n, now - timedelta(days=8))
        release = rules.sms_cap_release(now, zone, sent, per_day=policy.sms_per_day, per_week=policy.sms_per_week)
        if release is not None:
            return Verdict(
                "defer", "sms_cap", rules.hold_for_quiet_hours(release, zone, policy.quiet_start, policy.quiet_end)
            )
    return SEND


def _claim(notification_id, now: datetime) -> Notification | Verdict | None:
    """Claim the row (pending → sending) and decide, in one transaction.

    For SMS the patient row is locked first, so two deliveries for one patient
    decide one after the other and the second sees the first as `sending`.
    """
    head = Notification.objects.filter(id=notification_id).values("patient_id", "channel").first()
    if head is None:
        return None
    with transaction.atomic():
        if head["channel"] == Channel.SMS:
            Patient.objects.select_for_update().filter(pk=head["patient_id"]).first()
        claimed = Notification.objects.filter(id=notification_id, status=Status.PENDING, due_at__lte=now).update(
            status=Status.SENDING, claimed_at=now, updated_at=now
        )
        if claimed != 1:
            return None  # not due, already taken, or finished: a second run is a no-op
        n = Notification.objects.select_related("patient", "session", "session__location", "course").get(
            id=notification_id
        )
        verdict = send_time_verdict(n, now, ReminderPolicy.current())
        mine = Notification.objects.filter(id=n.id, status=Status.SENDING, claimed_at=now)
        if verdict.action == "skip":
            mine.update(status=Status.SKIPPED, skip_reason=verdict.reason, claimed_at=None, updated_at=now)
            return verdict
        if verdict.action == "defer":
            # Held, not dropped: back to pending with a later due time.
            mine.update(status=Status.PENDING, due_at=verdict.until, claimed_at=None, enqueued_at=None, updated_at=now)
            return verdict
    return n


def notification_deliver(*, notification_id) -> str:
    """Deliver one notification if it is due and unclaimed. Returns what happened.

    Raises TransientSendError (after putting the row back to pending) so the task
    retries with backoff; after MAX_ATTEMPTS tries the row is marked failed.
    """
    now = timezone.now()
    outcome = _claim(notification_id, now)
    if outcome is None:
        return "not_claimed"
    if isinstance(outcome, Verdict):
        return f"{outcome.action}:{outcome.reason}"
    n = outcome
    mine = Notification.objects.filter(id=n.id, status=Status.SENDING, claimed_at=now)
    attempts = n.attempts + 1
    try:
        link_url = rendering.link_url_for(n)
        if n.channel == Channel.EMAIL:
            provider_id = email.send_email(rendering.render_email(n, link_url=link_url))
        else:
            provider_id = sms.send_sms(rendering.render_sms(n, link_url=link_url))
    except TransientSendError as exc:
        done = attempts >= MAX_ATTEMPTS
        mine.update(
            status=Status.FAILED if done else Status.PENDING,
            claimed_at=None,
            attempts=attempts,
            last_error=str(exc)[:500],
            updated_at=timezone.now(),
        )
        if done:
            logger.warning("notification %s failed after %s attempts: %s", n.id, attempts, exc)
            return "failed"
        raise
    except PermanentSendError as exc:
        mine.update(status=Status.FAILED, attempts=attempts, last_error=str(exc)[:500], updated_at=timezone.now())
        return "failed"
    marked = mine.update(
        status=Status.SENT, sent_at=timezone.now(), provider_message_id=provider_id[:200], attempts=attempts
    )
    if marked != 1:
        # Reclaimed while we were sending (slower than the claim timeout): the row
        # may go out again, and the deterministic Message-ID shows the repeat.
        logger.warning("notification %s was reclaimed during its send", n.id)
    return "sent"


# --- inbound SMS -------------------------------------------------------------------------


def keyword_action(body: str) -> str:
    word = "".join(ch for ch in body.strip().upper() if ch.isalnum() or ch.isspace()).strip()
    if word in STOP_WORDS:
        return InboundMessage.Action.OPT_OUT
    if word in START_WORDS:
        return InboundMessage.Action.OPT_IN
    return InboundMessage.Action.NONE


@transaction.atomic
def inbound_sms_receive(*, provider_message_id: str, from_number: str, body: str) -> tuple[InboundMessage, bool]:
    """Record an inbound SMS once; a STOP-family word turns SMS consent off at once, START on.

    Returns (message, created); a replay of the same provider message id changes nothing.
    """
    message, created = InboundMessage.objects.get_or_create(
        provider_message_id=provider_message_id,
        defaults={"from_number": from_number[:32], "body": body[:1600], "action": keyword_action(body)},
    )
    if not created:
        return message, False
    if message.action != InboundMessage.Action.NONE and from_number:
        opt_in = message.action == InboundMessage.Action.OPT_IN
        message.patients_matched = Patient.objects.filter(phone=from_number).update(
            sms_opt_in=opt_in, updated_at=timezone.now()
        )
        message.save(update_fields=["patients_matched"])
    return message, True

"""Delivery: a task claims a batch of due rows, re-checks every rule at send time, sends, records each.

A second run is a no-op (the claim is a compare-and-swap on the row's status).
`deliver_due` is the cron fallback: `manage.py run_jobs` delivers what is due in
its own process when no Celery worker runs (DESIGN.md §4).
"""

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cycles import due, offers
from cycles.models import Course, SlotOffer
from notifications import links, rendering, rules, selectors
from notifications.channels import PermanentSendError, TransientSendError, email, sms
from notifications.models import Notification, PatientLink, ReminderPolicy
from notifications.services.outbox import CHUNK, WAITING_STATUSES
from notifications.services.queueing import MAX_ATTEMPTS
from patients.models import Patient
from scheduling.models import Session

logger = logging.getLogger(__name__)

Purpose = Notification.Purpose
Channel = Notification.Channel
Status = Notification.Status


class VerdictAction(StrEnum):
    SEND = "send"
    SKIP = "skip"
    DEFER = "defer"


@dataclass(frozen=True)
class Verdict:
    action: VerdictAction
    reason: str = ""
    until: datetime | None = None


SEND = Verdict(VerdictAction.SEND)
# Rows per delivery task: one claim, one links query and insert, one SMTP session for all of them.
BATCH = 50
# The outcome of a row put back to pending by a transient send error: its task retries it.
RETRY = "retry"
LINK_KINDS = {Purpose.DIARY_REQUEST: PatientLink.Kind.DIARY, Purpose.SLOT_OFFER: PatientLink.Kind.OFFER}


def _check_session(n: Notification, now: datetime) -> Verdict | None:
    session = n.session
    if n.purpose == Purpose.CANCELLATION:
        if session.status != Session.Status.CANCELLED:
            return Verdict(VerdictAction.SKIP, "session_not_cancelled")
        return None
    if session.status == Session.Status.CANCELLED:
        return Verdict(VerdictAction.SKIP, "session_cancelled")
    if session.status not in WAITING_STATUSES:
        return Verdict(VerdictAction.SKIP, f"session_{session.status}")
    if n.session_start is not None and session.start != n.session_start:
        return Verdict(VerdictAction.SKIP, "session_rescheduled")
    if session.start <= now:
        return Verdict(VerdictAction.SKIP, "too_late")
    return None


def _check_slot_offer(n: Notification, now: datetime) -> Verdict | None:
    """An offer is told only while it stands: not once taken, declined or expired, nor once its slot
    starts within the notice period (the sweep expires it then too)."""
    offer = selectors.slot_offer_for(session_id=n.session_id, patient_id=n.patient_id)
    if offer is None:
        return Verdict(VerdictAction.SKIP, "offer_withdrawn")
    if offer.status != SlotOffer.Status.OFFERED:
        return Verdict(VerdictAction.SKIP, f"offer_{offer.status}")
    if offer.freed_slot.offer_until <= now:
        return Verdict(VerdictAction.SKIP, "within_notice")
    if SlotOffer.objects.filter(pk=offer.pk).filter(offers.booked_by_then()).exists():
        return Verdict(VerdictAction.SKIP, "already_booked")  # the sweep ends the offer and passes it on
    return None


def _check_next_session_due(n: Notification, now: datetime) -> Verdict | None:
    if n.course is not None and n.course.status != Course.Status.ACTIVE:
        return Verdict(VerdictAction.SKIP, "course_inactive")
    booked = Course.objects.filter(pk=n.course_id).filter(due.upcoming_treatment()).exists()
    return Verdict(VerdictAction.SKIP, "already_booked") if booked else None


def _check_consent(n: Notification) -> Verdict | None:
    patient = n.patient
    if n.channel == Channel.EMAIL:
        if not patient.email_opt_in:
            return Verdict(VerdictAction.SKIP, "no_consent")
        if not patient.email:
            return Verdict(VerdictAction.SKIP, "no_address")
    else:
        if not patient.sms_opt_in:
            return Verdict(VerdictAction.SKIP, "no_consent")
        if not patient.phone:
            return Verdict(VerdictAction.SKIP, "no_address")
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
        return Verdict(VerdictAction.SKIP, "patient_discharged")
    if n.purpose == Purpose.SLOT_OFFER:
        # Its session is the cancelled one whose slot is offered: the offer decides, not the session.
        verdict = _check_slot_offer(n, now)
        if verdict:
            return verdict
    elif n.session_id is not None:
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
        return Verdict(VerdictAction.DEFER, "quiet_hours", held)
    if n.channel == Channel.SMS:
        sent = _sms_sent_times(n, now - timedelta(days=8))
        release = rules.sms_cap_release(now, zone, sent, per_day=policy.sms_per_day, per_week=policy.sms_per_week)
        if release is not None:
            return Verdict(
                VerdictAction.DEFER,
                "sms_cap",
                rules.hold_for_quiet_hours(release, zone, policy.quiet_start, policy.quiet_end),
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
        if verdict.action == VerdictAction.SKIP:
            mine.update(status=Status.SKIPPED, skip_reason=verdict.reason, claimed_at=None, updated_at=now)
            return verdict
        if verdict.action == VerdictAction.DEFER:
            # Held, not dropped: back to pending with a later due time.
            mine.update(status=Status.PENDING, due_at=verdict.until, claimed_at=None, enqueued_at=None, updated_at=now)
            return verdict
    return n


def _record_transient(mine, attempts: int, exc: Exception, n: Notification) -> bool:
    """The failed row back to pending (or failed after MAX_ATTEMPTS tries); True if it is done."""
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
    return done


def _send(n: Notification, link_url: str | None) -> str:
    """Hand the row's message to its channel; returns the provider id. Raises Transient/PermanentSendError."""
    if n.channel == Channel.EMAIL:
        return email.send_email(rendering.render_email(n, link_url=link_url))
    return sms.send_sms(rendering.render_sms(n, link_url=link_url))


def _record(n: Notification, claimed_at: datetime, provider_id: str | None, error: Exception | None) -> str:
    """The result of a send that did not fail transiently: sent, or failed for good. One UPDATE."""
    mine = Notification.objects.filter(id=n.id, status=Status.SENDING, claimed_at=claimed_at)
    attempts = n.attempts + 1
    if error is not None:
        mine.update(status=Status.FAILED, attempts=attempts, last_error=str(error)[:500], updated_at=timezone.now())
        return "failed"
    marked = mine.update(
        status=Status.SENT, sent_at=timezone.now(), provider_message_id=provider_id[:200], attempts=attempts
    )
    if marked != 1:
        # Reclaimed while we were sending (slower than the claim timeout): the row
        # may go out again, and the deterministic Message-ID shows the repeat.
        logger.warning("notification %s was reclaimed during its send", n.id)
    return "sent"


def _send_one(n: Notification, claimed_at: datetime, link_url: str | None) -> str:
    """Send a row claimed at `claimed_at` and record the result: one UPDATE. Raises TransientSendError (the
    row put back to pending first) unless that was its last try."""
    try:
        provider_id = _send(n, link_url)
    except TransientSendError as exc:
        mine = Notification.objects.filter(id=n.id, status=Status.SENDING, claimed_at=claimed_at)
        if _record_transient(mine, n.attempts + 1, exc, n):
            return "failed"
        raise
    except PermanentSendError as exc:
        return _record(n, claimed_at, None, exc)
    return _record(n, claimed_at, provider_id, None)


def _claim_from(rows: list[Notification], start: int, now: datetime) -> tuple[int, datetime] | None:
    """Claim the first of rows[start:] still as it was read (the compare-and-swap on `pending`, as a one-row
    delivery claims it); a row taken, skipped or held since is not ours and is passed over."""
    for index in range(start, len(rows)):
        n = rows[index]
        claimed_at = timezone.now()
        claimed = Notification.objects.filter(
            id=n.id, status=Status.PENDING, due_at__lte=now, attempts=n.attempts
        ).update(status=Status.SENDING, claimed_at=claimed_at, updated_at=claimed_at)
        if claimed == 1:
            return index, claimed_at
    return None


def _deliver_sms(notification_id, now: datetime) -> str:
    """One SMS row: claimed alone under its patient's lock, so the caps count every other SMS of the patient."""
    outcome = _claim(notification_id, now)
    if outcome is None:
        return "not_claimed"
    if isinstance(outcome, Verdict):
        return f"{outcome.action}:{outcome.reason}"
    return _send_one(outcome, now, rendering.link_url_for(outcome))


def _decide_emails(rows: list[Notification], now: datetime) -> tuple[dict, list[Notification]]:
    """Decide loaded pending email rows by the send-time rules; record the skipped (one UPDATE per reason)
    and the held ones, each a compare-and-swap on `pending` so a row changed since it was read is left to
    whoever changed it. Returns the outcomes decided and the rows to send."""
    outcomes: dict = {}
    policy = ReminderPolicy.current()
    to_send = []
    skipped: dict[str, list] = {}
    for n in rows:
        verdict = send_time_verdict(n, now, policy)
        if verdict.action == VerdictAction.SEND:
            to_send.append(n)
            continue
        outcomes[n.id] = f"{verdict.action}:{verdict.reason}"
        if verdict.action == VerdictAction.SKIP:
            skipped.setdefault(verdict.reason, []).append(n.id)
        else:  # held, not dropped: back to pending with a later due time
            Notification.objects.filter(id=n.id, status=Status.PENDING).update(
                due_at=verdict.until, enqueued_at=None, updated_at=now
            )
    for reason, skip_ids in skipped.items():
        Notification.objects.filter(id__in=skip_ids, status=Status.PENDING).update(
            status=Status.SKIPPED, skip_reason=reason, updated_at=now
        )
    return outcomes, to_send


def _links(rows: list[Notification]) -> dict:
    """Each row's patient link (none for next-session-due), made once: the existing ones in one query, the
    missing ones in one insert. A key collision or a concurrent delivery of a row falls back to the one-row
    path, which retries its key."""
    wanted = [n for n in rows if n.purpose != Purpose.NEXT_SESSION_DUE]
    if not wanted:
        return {}
    links_by_row = {link.notification_id: link for link in PatientLink.objects.filter(notification__in=wanted)}
    missing = [n for n in wanted if n.id not in links_by_row]
    if missing:
        made = [
            PatientLink(
                key=secrets.token_urlsafe(5),  # as links.link_for_notification makes them
                kind=LINK_KINDS.get(n.purpose, PatientLink.Kind.SESSION),
                patient_id=n.patient_id,
                session_id=n.session_id if LINK_KINDS.get(n.purpose) != PatientLink.Kind.DIARY else None,
                notification=n,
            )
            for n in missing
        ]
        try:
            with transaction.atomic():
                PatientLink.objects.bulk_create(made)
            links_by_row.update({link.notification_id: link for link in made})
        except IntegrityError:
            links_by_row.update({n.id: links.link_for_notification(notification=n) for n in missing})
    return {row_id: links.url_for(link) for row_id, link in links_by_row.items()}


def notifications_deliver_batch(*, notification_ids) -> dict:
    """Deliver many rows in one task; returns each row's outcome (as `notification_deliver` names them),
    keyed as passed (a task passes strings, Python UUIDs).

    The due pending rows are read in one query with what the send-time rules look at, decided, given their
    links (one query and one insert for the batch), then each is claimed (the compare-and-swap on `pending`,
    as a one-row delivery claims it), sent over the process's held mail connection and recorded the moment
    it is accepted, in the transaction that claims the next. So at any instant a worker holds one row in
    `sending`: killed mid-batch it leaves that row for the queueing job to give back after the claim timeout
    (the rows not yet claimed are simply still pending), and only that row can go out twice. SMS rows go one
    by one through `_claim`, under their patient's lock, so the caps count every other SMS of the patient.

    Queries for k email rows with nothing to skip or hold (booking confirmations, reminders, diary requests)
    and no link yet: 3 + 2k (the insert in its own atomic block), pinned in tests/notifications/test_delivery.py.
    A slot offer adds its offer checks, a next-session-due its booked check; a skip reason or a hold one UPDATE.

    On a transient send error the batch stops: that row is put back (its attempt counted; failed after
    MAX_ATTEMPTS) and it and the rows not yet tried are returned as RETRY, which the task retries with
    backoff (`notifications.tasks.deliver_batch`).
    """
    now = timezone.now()
    keys = {key: uuid.UUID(str(key)) for key in notification_ids}
    outcomes: dict = dict.fromkeys(keys.values(), "not_claimed")
    rows = list(
        Notification.objects.filter(id__in=list(keys.values()), status=Status.PENDING, due_at__lte=now)
        .select_related("patient", "session", "session__location", "course")
        .order_by("id")
    )
    for n in rows:
        if n.channel == Channel.SMS:
            try:
                outcomes[n.id] = _deliver_sms(n.id, timezone.now())
            except TransientSendError:
                outcomes[n.id] = RETRY
    decided, to_send = _decide_emails([n for n in rows if n.channel == Channel.EMAIL], now)
    outcomes.update(decided)
    link_urls = _links(to_send)
    # One commit per email: a row's result and the next row's claim go in one transaction, so a worker
    # holds one row in `sending` at a time and the database flushes its log once per message.
    with transaction.atomic(savepoint=False):
        claimed = _claim_from(to_send, 0, now)
    while claimed is not None:
        index, claimed_at = claimed
        n = to_send[index]
        try:
            provider_id, error = _send(n, link_urls.get(n.id)), None
        except TransientSendError as exc:
            mine = Notification.objects.filter(id=n.id, status=Status.SENDING, claimed_at=claimed_at)
            if not _record_transient(mine, n.attempts + 1, exc, n):
                outcomes.update(dict.fromkeys([later.id for later in to_send[index:]], RETRY))
                break
            outcomes[n.id] = "failed"
            with transaction.atomic(savepoint=False):
                claimed = _claim_from(to_send, index + 1, now)
            continue
        except PermanentSendError as exc:
            provider_id, error = None, exc
        with transaction.atomic(savepoint=False):
            outcomes[n.id] = _record(n, claimed_at, provider_id, error)
            claimed = _claim_from(to_send, index + 1, now)
    return {key: outcomes[row_id] for key, row_id in keys.items()}


def notification_deliver(*, notification_id) -> str:
    """Deliver one notification if it is due and unclaimed. Returns what happened.

    Raises TransientSendError (after putting the row back to pending) so the task
    retries with backoff; after MAX_ATTEMPTS tries the row is marked failed.
    """
    outcome = notifications_deliver_batch(notification_ids=[notification_id])[notification_id]
    if outcome == RETRY:
        raise TransientSendError(f"notification {notification_id}: to retry")
    return outcome


def deliver_due(*, now: datetime | None = None) -> dict:
    """Deliver, in this process, every pending row due by `now`: the cron fallback for a clinic that runs
    `manage.py run_jobs` with no Celery worker. The claim makes it safe beside a worker too. A transient
    failure leaves the row pending for the next run (its attempts counted), as a task retry would."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    due_rows = Notification.objects.filter(status=Status.PENDING, due_at__lte=now).order_by("id")
    last_id = None
    while True:
        ids = list(
            (due_rows if last_id is None else due_rows.filter(id__gt=last_id)).values_list("id", flat=True)[:CHUNK]
        )
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            for outcome in notifications_deliver_batch(notification_ids=batch).values():
                outcome = "retry_later" if outcome == RETRY else outcome
                counts[outcome] = counts.get(outcome, 0) + 1
        if len(ids) < CHUNK:
            return counts
        last_id = ids[-1]

"""Delivery: one task per due row claims it, re-checks every rule at send time, sends, records.

A second run is a no-op (the claim is a compare-and-swap on the row's status).
`deliver_due` is the cron fallback: `manage.py run_jobs` delivers what is due in
its own process when no Celery worker runs (DESIGN.md §4).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cycles import due, offers
from cycles.models import Course, SlotOffer
from notifications import rendering, rules, selectors
from notifications.channels import PermanentSendError, TransientSendError, email, sms
from notifications.models import Notification, ReminderPolicy
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
        for notification_id in ids:
            try:
                outcome = notification_deliver(notification_id=notification_id)
            except TransientSendError:
                outcome = "retry_later"
            counts[outcome] = counts.get(outcome, 0) + 1
        if len(ids) < CHUNK:
            return counts
        last_id = ids[-1]

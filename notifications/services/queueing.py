"""The queueing job (every 5 minutes): reclaim stuck rows, create what the policy asks for, enqueue what is due."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from cycles import due
from cycles.models import Course
from notifications.models import Notification, ReminderPolicy
from notifications.services.outbox import (
    CHUNK,
    WAITING_STATUSES,
    claim_timeout,
    enqueue_on_commit,
    insert,
    key,
    preferred_channel,
    reminder_rows,
)
from patients.models import Patient
from scheduling.models import Session

Purpose = Notification.Purpose
Status = Notification.Status
# A first try and the task's five retries.
MAX_ATTEMPTS = 6


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
        page = sessions
        if last is not None:  # start >= the last one's bounds the (status, start) index; the OR settles ties
            page = sessions.filter(start__gte=last[0]).filter(Q(start__gt=last[0]) | Q(id__gt=last[1]))
        chunk = list(page[:CHUNK])
        rows = [row for s in chunk for row in reminder_rows(session=s, policy=policy, booked_at=s.created_at)]
        insert(rows)
        result.reminders += len(rows)
        if len(chunk) < CHUNK:
            return
        last = (chunk[-1].start, chunk[-1].id)


def _queue_next_session_due(now: datetime, result: QueueResult) -> None:
    """ "Time to book your next appointment": an active course that is due (the due list's own rule:
    due_from is today or earlier) with no treatment booked (`cycles.due.upcoming_treatment`), for an
    active patient. Once per last treatment (the key names it)."""
    told = Notification.objects.filter(
        course_id=OuterRef("pk"), purpose=Purpose.NEXT_SESSION_DUE, created_at__gt=OuterRef("last_treatment_start")
    )
    courses = (
        due.courses_without_booking(now=now, within_days=0)
        .filter(patient__status=Patient.Status.ACTIVE)
        .annotate(last_id=due.last_treatment("id"))
        .exclude(Exists(told))  # already told since this last treatment
        .select_related("patient")
        .order_by("id")
    )
    last_id = None
    while True:
        chunk = list((courses if last_id is None else courses.filter(id__gt=last_id))[:CHUNK])
        rows = []
        for course in chunk:
            channel = preferred_channel(course.patient)
            rows.append(
                Notification(
                    patient_id=course.patient_id,
                    course_id=course.id,
                    purpose=Purpose.NEXT_SESSION_DUE,
                    channel=channel,
                    due_at=now,
                    dedupe_key=key(Purpose.NEXT_SESSION_DUE, course.id, course.last_id, channel),
                )
            )
        insert(rows)
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
                    dedupe_key=key(Purpose.DIARY_REQUEST, patient.id, day, channel),
                )
            )
        insert(rows)
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
    # Walked in the order of the (status, due_at) index, a chunk after the last one's (due_at, id): each
    # chunk reads its own rows. (Ordered by id, every chunk sorted every due pending row again: quadratic.)
    due = (
        Notification.objects.filter(status=Status.PENDING, due_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .order_by("due_at", "id")
        .values_list("due_at", "id")
    )
    last = None
    while True:
        page = due
        if last is not None:
            # due_at >= the last one's is the index's bound; the OR only settles ties.
            page = due.filter(due_at__gte=last[0]).filter(Q(due_at__gt=last[0]) | Q(id__gt=last[1]))
        rows = list(page[:CHUNK])
        ids = [row_id for _, row_id in rows]
        if ids:
            Notification.objects.filter(id__in=ids).update(enqueued_at=now)
            enqueue_on_commit(ids)
        result.enqueued += len(ids)
        if len(ids) < CHUNK:
            return
        last = rows[-1]


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

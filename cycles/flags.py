"""The one module that opens, adds to and resolves review flags (DESIGN.md §3: at most one open flag per
(course, kind, cycle)).

A flag is opened once per (course, kind, cycle): not while one is open (the
partial unique index settles a race between workers), and not again after a
clinician resolved it. A later cycle is a new question and can flag again.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.errors import Conflict, ValidationFailed
from cycles.models import AdverseEvent, Course, ReviewFlag
from scheduling import services
from scheduling.models import Session


def flags_open(flags: list[ReviewFlag]) -> int:
    """Insert the flags that no row (open or resolved) already covers. Two queries at most.

    A race with another worker is settled by the partial unique index: the insert
    skips a row that would be a second open flag.
    """
    if not flags:
        return 0
    existing = set(
        ReviewFlag.objects.filter(
            course_id__in={f.course_id for f in flags}, kind__in={f.kind for f in flags}
        ).values_list("course_id", "kind", "cycle")
    )
    fresh = [f for f in flags if (f.course_id, f.kind, f.cycle) not in existing]
    if fresh:
        ReviewFlag.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def flag_open(*, course, kind: str, cycle: int, details: dict, session=None) -> ReviewFlag | None:
    """Open one flag unless (course, kind, cycle) already has one, open or resolved; None then."""
    if ReviewFlag.objects.filter(course=course, kind=kind, cycle=cycle).exists():
        return None
    try:
        with transaction.atomic():
            return ReviewFlag.objects.create(
                patient_id=course.patient_id, course=course, session=session, kind=kind, cycle=cycle, details=details
            )
    except IntegrityError:
        return None  # another worker opened it a moment ago


def adverse_event_flag_raise(*, session: Session, course: Course, events: list[AdverseEvent]) -> None:
    """Open (or add to) the adverse_event review flag for this cycle at once."""
    cycle = session.cycle_number or 0
    details = {
        "session": str(session.id),
        "events": [{"kind": e.kind, "severity": e.severity} for e in events],
        "kind": events[0].kind,
        "severity": events[0].severity,
    }
    open_flag = ReviewFlag.objects.filter(
        course=course, kind=ReviewFlag.Kind.ADVERSE_EVENT, cycle=cycle, status=ReviewFlag.Status.OPEN
    ).first()
    if open_flag is not None:
        open_flag.details = {**open_flag.details, "events": [*open_flag.details.get("events", []), *details["events"]]}
        open_flag.save(update_fields=["details"])
        return
    try:
        with transaction.atomic():
            ReviewFlag.objects.create(
                patient=session.patient,
                course=course,
                session=session,
                kind=ReviewFlag.Kind.ADVERSE_EVENT,
                cycle=cycle,
                details=details,
            )
    except IntegrityError:
        pass  # another writer opened the same flag a moment ago: one open flag is the point


@transaction.atomic
def review_flag_resolve(*, flag: ReviewFlag, decision: str, note: str = "", resolved_by) -> ReviewFlag:
    """Close a flag with the clinician's decision.

    `stop` stops the course, cancels its upcoming sessions and closes the course's other open flags.

    The sessions are cancelled through `session_cancel`, so their reminders are skipped.
    """
    if decision not in ReviewFlag.Decision.values:
        message = f"One of {', '.join(ReviewFlag.Decision.values)}."
        raise ValidationFailed("Unknown decision.", fields={"decision": [message]})
    current = ReviewFlag.objects.select_for_update().get(pk=flag.pk)
    if current.status != ReviewFlag.Status.OPEN:
        raise Conflict("This flag has already been resolved.", code="invalid_transition")
    current.status = ReviewFlag.Status.RESOLVED
    current.decision = decision
    current.note = note or ""
    current.resolved_by = resolved_by
    current.resolved_at = timezone.now()
    current.save(update_fields=["status", "decision", "note", "resolved_by", "resolved_at"])
    if decision == ReviewFlag.Decision.STOP:
        course = Course.objects.select_for_update().get(pk=current.course_id)
        if course.status != Course.Status.STOPPED:
            course.status = Course.Status.STOPPED
            course.stopped_at = timezone.now()
            course.save(update_fields=["status", "stopped_at"])
        upcoming = Session.objects.filter(
            course=course, status__in=Session.UPCOMING_STATUSES, start__gte=timezone.now()
        ).order_by("start")
        for session in upcoming:
            services.session_cancel(session=session, reason="Course stopped after clinical review.", by=resolved_by)
        # A stopped course leaves the review queue: its other open flags close with the same decision.
        ReviewFlag.objects.filter(course=course, status=ReviewFlag.Status.OPEN).update(
            status=ReviewFlag.Status.RESOLVED,
            decision=ReviewFlag.Decision.STOP,
            note=f"Course stopped (flag {current.pk}).",
            resolved_by=resolved_by,
            resolved_at=current.resolved_at,
        )
    return current

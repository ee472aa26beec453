"""The session lifecycle after booking: confirm, check in, no-show, cancel and its undo (DESIGN.md §3).

When an action is possible is written once here (`action_problem`): the services
refuse with it, and the web UI offers a button only when it is None.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from clinic.errors import Conflict
from clinic.timezones import local_date
from scheduling import events, policy
from scheduling.models import Session
from scheduling.services.booking import check_free, lock_for_booking
from scheduling.services.transitions import ALLOWED_FROM, locked, require

Status = Session.Status
# Staff may undo a cancellation this long after it; its cancellation notice waits as long.
CANCEL_UNDO = timedelta(minutes=1)


def action_problem(session: Session, action: str, now: datetime | None = None) -> str | None:
    """Why `action` ("check_in", "no_show", "cancel", "reschedule", "complete") cannot be done now, or None."""
    now = now or timezone.now()
    if session.status not in ALLOWED_FROM[action]:
        return f"A {session.get_status_display().lower()} session cannot be {_DONE[action]}."
    zone = session.location.zone
    if action == "check_in" and local_date(now, zone) != local_date(session.start, zone):
        return f"Check-in is only possible on {local_date(session.start, zone)} ({session.location.time_zone})."
    if action == "no_show" and now < session.start:
        return "A session cannot be a no-show before it starts."
    return None


def action_state(session: Session, now: datetime) -> tuple:
    """All that `action_problem`'s answers for `session` at `now` depend on: sessions in the same state get
    the same answers, so a calendar of hundreds of sessions asks the rule once per state. Whatever the rule
    comes to read must be added here."""
    zone = session.location.zone
    return session.status, local_date(now, zone) == local_date(session.start, zone), now < session.start


_DONE = {
    "confirm": "confirmed",
    "check_in": "checked in",
    "no_show": "marked as a no-show",
    "complete": "completed",
    "cancel": "cancelled",
    "reschedule": "rescheduled",
}


def _refuse_unless_possible(session: Session, action: str) -> None:
    problem = action_problem(session, action)
    if problem is not None:
        raise Conflict(problem, code="invalid_transition")


@transaction.atomic
def session_cancel(*, session: Session, reason: str, by, undoable: bool = False) -> Session:
    """Cancel; its pending reminders are skipped and a cancellation notice is made (notifications/).

    `undoable`: staff may take it back within CANCEL_UNDO (`session_cancel_undo`), so the
    notice is held that long instead of going at once.
    """
    current = locked(session)
    require(current, "cancel", f"A {current.status} session cannot be cancelled.")
    current.status = Status.CANCELLED
    current.cancel_reason = (reason or "")[:500]
    current.cancelled_at = timezone.now()
    current.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
    events.session_event(session=current, event=events.SessionEvent.CANCELLED, by=by, undoable=undoable)
    return current


def undo_deadline(session: Session) -> datetime | None:
    if session.status != Status.CANCELLED or session.cancelled_at is None:
        return None
    return session.cancelled_at + CANCEL_UNDO


@transaction.atomic
def session_cancel_undo(*, session: Session, by) -> Session:
    """Take a cancellation back within CANCEL_UNDO: the session stands again in the status it had.

    Its time must still be free (someone may have booked it meanwhile). The outbox
    withdraws the held cancellation notice and restores the reminders; if the notice has
    already gone to the patient it refuses, and nothing changes.
    """
    head = Session.objects.select_related("patient", "clinician").get(pk=session.pk)
    lock_for_booking(head.patient, head.clinician)
    current = locked(session)
    deadline = undo_deadline(current)
    if deadline is None or timezone.now() > deadline:
        raise Conflict("Too late to undo: book the session again instead.", code="invalid_transition")
    read = check_free(
        clinician=current.clinician,
        location=current.location,
        patient=current.patient,
        start=current.start,
        end=current.end,
        exclude=current,
        working_hours=False,
    )
    # The course rules too: another treatment may have been booked in the meantime.
    policy.current().check(
        session=current,
        override_reason=current.override_reason,
        by=by,
        exclude=current,
        patient_sessions=read.patient_sessions,
    )
    if current.checked_in_at:
        current.status = Status.CHECKED_IN
    elif current.confirmed_at:
        current.status = Status.CONFIRMED
    else:
        current.status = Status.BOOKED
    current.cancel_reason, current.cancelled_at = "", None
    current.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
    events.session_event(session=current, event=events.SessionEvent.RESTORED, by=by)
    return current


@transaction.atomic
def session_confirm(*, session: Session, by=None) -> Session:
    current = locked(session)
    require(current, "confirm", f"A {current.status} session cannot be confirmed.")
    current.status = Status.CONFIRMED
    current.confirmed_at = timezone.now()
    current.save(update_fields=["status", "confirmed_at", "updated_at"])
    return current


@transaction.atomic
def session_check_in(*, session: Session, by) -> Session:
    """Any time on the session's local date at its location."""
    current = locked(session)
    require(current, "check_in", f"A {current.status} session cannot be checked in.")
    _refuse_unless_possible(current, "check_in")
    current.status = Status.CHECKED_IN
    current.checked_in_at = timezone.now()
    current.save(update_fields=["status", "checked_in_at", "updated_at"])
    return current


@transaction.atomic
def session_no_show(*, session: Session, by) -> Session:
    """Only once the session's start has passed."""
    current = locked(session)
    require(current, "no_show", f"A {current.status} session cannot be marked as a no-show.")
    _refuse_unless_possible(current, "no_show")
    current.status = Status.NO_SHOW
    current.save(update_fields=["status", "updated_at"])
    return current

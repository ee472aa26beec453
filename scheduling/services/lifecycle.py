"""The session lifecycle after booking: confirm, check in, no-show, cancel (DESIGN.md §3)."""

from django.db import transaction
from django.utils import timezone

from clinic.errors import Conflict
from clinic.timezones import local_date, today_in
from scheduling import events
from scheduling.models import Session
from scheduling.services.transitions import locked, require

Status = Session.Status


@transaction.atomic
def session_cancel(*, session: Session, reason: str, by) -> Session:
    current = locked(session)
    require(current, "cancel", f"A {current.status} session cannot be cancelled.")
    current.status = Status.CANCELLED
    current.cancel_reason = (reason or "")[:500]
    current.cancelled_at = timezone.now()
    current.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
    events.session_event(session=current, event=events.SessionEvent.CANCELLED, by=by)
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
    zone = current.location.zone
    if today_in(zone) != local_date(current.start, zone):
        raise Conflict(
            f"Check-in is only possible on {local_date(current.start, zone)} ({current.location.time_zone}).",
            code="invalid_transition",
        )
    current.status = Status.CHECKED_IN
    current.checked_in_at = timezone.now()
    current.save(update_fields=["status", "checked_in_at", "updated_at"])
    return current


@transaction.atomic
def session_no_show(*, session: Session, by) -> Session:
    """Only once the session's start has passed."""
    current = locked(session)
    require(current, "no_show", f"A {current.status} session cannot be marked as a no-show.")
    if timezone.now() < current.start:
        raise Conflict("A session cannot be a no-show before it starts.", code="invalid_transition")
    current.status = Status.NO_SHOW
    current.save(update_fields=["status", "updated_at"])
    return current

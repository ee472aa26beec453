"""Which status a session may leave for which action (DESIGN.md §3 lifecycle), and the session lock."""

from clinic.errors import Conflict
from scheduling.models import Session

Status = Session.Status

ALLOWED_FROM = {
    "confirm": (Status.BOOKED,),
    "check_in": (Status.BOOKED, Status.CONFIRMED),
    "no_show": (Status.BOOKED, Status.CONFIRMED),
    "complete": (Status.CHECKED_IN,),
    "cancel": (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN),
    "reschedule": (Status.BOOKED, Status.CONFIRMED),
}


def locked(session: Session) -> Session:
    # `of=("self",)`: lock the session row only. Locking its patient and clinician here
    # too would take them in no fixed order and could deadlock with a booking.
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("patient", "clinician", "location")
        .get(pk=session.pk)
    )


def require(session: Session, action: str, detail: str) -> None:
    if session.status not in ALLOWED_FROM[action]:
        raise Conflict(detail, code="invalid_transition")

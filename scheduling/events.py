"""What scheduling tells the layers above (the outbox, slot offers), as registered hooks.

Scheduling sends; notifications and cycles connect receivers in their AppConfig.ready().
These are domain events sent by the services inside their transaction, not model
signals: no `save()` triggers anything.
"""

from enum import StrEnum

from django.dispatch import Signal
from django.utils import timezone


class SessionEvent(StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    # A cancellation undone within `scheduling.services.lifecycle.CANCEL_UNDO`: the session stands again.
    RESTORED = "restored"


# sessions=[Session, ...] (patients loaded), now=datetime: new bookings, one or a planner's batch.
sessions_booked = Signal()
# session=Session, event=SessionEvent (RESCHEDULED, CANCELLED or RESTORED), by=user or None,
# undoable=bool (CANCELLED: staff may undo it for a while, so its notice waits that long).
# A receiver may refuse the change by raising a DomainError: the service's transaction rolls back.
session_changed = Signal()


def session_event(*, session, event: SessionEvent, by=None, undoable: bool = False) -> None:
    if event == SessionEvent.BOOKED:
        sessions_booked.send(sender=SessionEvent, sessions=[session], now=timezone.now())
    else:
        session_changed.send(sender=SessionEvent, session=session, event=event, by=by, undoable=undoable)

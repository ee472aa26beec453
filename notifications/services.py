"""Notification services. The outbox itself arrives with the notifications work."""

from scheduling.models import Session


def session_changed(*, session: Session, event: str) -> None:
    """Called by the scheduling services inside their transaction when a session is
    booked, rescheduled or cancelled (`event` is "booked", "rescheduled" or "cancelled"),
    so that its reminders can be queued, withdrawn or skipped.

    Not yet implemented: there is no outbox yet, so there is nothing to update.
    """

"""How notifications/ joins the layers below: every booking, move and cancellation makes outbox rows,
and patient consent asks it whether a number's last word was STOP."""

from notifications.services import outbox
from notifications.services.inbound import stop_in_effect
from patients import consent
from scheduling import events


def _sessions_booked(sender, *, sessions, now, **kwargs) -> None:
    outbox.sessions_booked(sessions=sessions, now=now)


def _session_changed(sender, *, session, event, undoable=False, **kwargs) -> None:
    outbox.session_changed(session=session, event=event, undoable=undoable)


def connect() -> None:
    events.sessions_booked.connect(_sessions_booked, dispatch_uid="notifications.sessions_booked")
    events.session_changed.connect(_session_changed, dispatch_uid="notifications.session_changed")
    consent.register_stop_lookup(stop_in_effect)

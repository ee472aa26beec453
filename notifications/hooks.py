"""How notifications/ joins the layers below: every booking, move and cancellation, and every slot offer,
makes outbox rows; and patient consent asks it whether a number's last word was STOP."""

from cycles import events as cycle_events
from notifications.services import outbox
from notifications.services.inbound import stop_in_effect
from patients import consent
from scheduling import events


def _sessions_booked(sender, *, sessions, now, **kwargs) -> None:
    outbox.sessions_booked(sessions=sessions, now=now)


def _session_changed(sender, *, session, event, undoable=False, **kwargs) -> None:
    outbox.session_changed(session=session, event=event, undoable=undoable)


def _slots_offered(sender, *, offers, now, **kwargs) -> None:
    outbox.slot_offers_made(offers=offers, now=now)


def _slot_offer_accepted(sender, *, moved_from, **kwargs) -> None:
    outbox.slot_offer_accepted(moved_from=moved_from)


def connect() -> None:
    events.sessions_booked.connect(_sessions_booked, dispatch_uid="notifications.sessions_booked")
    events.session_changed.connect(_session_changed, dispatch_uid="notifications.session_changed")
    consent.register_stop_lookup(stop_in_effect)
    cycle_events.slots_offered.connect(_slots_offered, dispatch_uid="notifications.slots_offered")
    cycle_events.slot_offer_accepted.connect(_slot_offer_accepted, dispatch_uid="notifications.slot_offer_accepted")

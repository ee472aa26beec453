"""How cycles/ joins the layers below: its booking policy, its listener for diary entries, and the
cancellations that free a treatment slot for the patients due then."""

from django.db import transaction

from cycles import offers, tasks
from cycles.booking import CoursePolicy
from patients import events as patient_events
from scheduling import events as scheduling_events
from scheduling import policy


def _diary_recorded(sender, *, patient_id, **kwargs) -> None:
    patient_id = str(patient_id)
    transaction.on_commit(lambda: tasks.assess_patient.delay(patient_id))


def _session_changed(sender, *, session, event, undoable: bool = False, **kwargs) -> None:
    if event == scheduling_events.SessionEvent.CANCELLED:
        # A cancellation staff may still undo is offered only once the undo has lapsed (the sweep).
        offers.slot_freed(session=session, hold=undoable)
    elif event == scheduling_events.SessionEvent.RESTORED:
        offers.slot_restored(session=session)


def connect() -> None:
    policy.register(CoursePolicy())
    patient_events.diary_recorded.connect(_diary_recorded, dispatch_uid="cycles.diary_recorded")
    scheduling_events.session_changed.connect(_session_changed, dispatch_uid="cycles.session_changed")

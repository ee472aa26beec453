"""How cycles/ joins the layers below: its booking policy and its listener for diary entries."""

from django.db import transaction

from cycles import tasks
from cycles.booking import CoursePolicy
from patients import events as patient_events
from scheduling import policy


def _diary_recorded(sender, *, patient_id, **kwargs) -> None:
    patient_id = str(patient_id)
    transaction.on_commit(lambda: tasks.assess_patient.delay(patient_id))


def connect() -> None:
    policy.register(CoursePolicy())
    patient_events.diary_recorded.connect(_diary_recorded, dispatch_uid="cycles.diary_recorded")

from django.db.models import QuerySet

from cycles.models import SlotOffer
from notifications.models import Notification
from patients.models import Patient


def notification_list(*, patient=None, session=None, status: str | None = None) -> QuerySet[Notification]:
    rows = Notification.objects.order_by("-due_at", "id")
    if patient is not None:
        rows = rows.filter(patient_id=patient)
    if session is not None:
        rows = rows.filter(session_id=session)
    if status:
        rows = rows.filter(status=status)
    return rows


def notifications_for_patient(*, patient: Patient) -> QuerySet[Notification]:
    """A patient's notifications, newest due first, with the session and its location joined."""
    return (
        Notification.objects.filter(patient=patient)
        .select_related("session", "session__location")
        .order_by("-due_at", "id")
    )


def slot_offer_for(*, session_id, patient_id) -> SlotOffer | None:
    """The offer a slot_offer row or link is about: its freed slot's session and its patient name it (one
    offer per freed slot and patient). One query, with the slot and the later treatment it moves."""
    return (
        SlotOffer.objects.select_related("freed_slot__session__location", "moves__location", "patient")
        .filter(freed_slot__session_id=session_id, patient_id=patient_id)
        .first()
    )

from django.db.models import QuerySet

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

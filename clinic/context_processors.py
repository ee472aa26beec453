from datetime import datetime

from django.conf import settings
from django.utils import timezone

from clinic.roles import roles_of

# The undo a cancellation offers (set by the web UI's cancel view), kept in the user's session.
UNDO_KEY = "cycledesk_undo"


def _undo(request) -> dict | None:
    session = getattr(request, "session", None)
    offer = session.get(UNDO_KEY) if session is not None else None
    if not offer:
        return None
    try:
        left = (datetime.fromisoformat(offer["until"]) - timezone.now()).total_seconds()
    except (KeyError, TypeError, ValueError):
        left = 0
    if left <= 0:
        session.pop(UNDO_KEY, None)
        return None
    return {**offer, "seconds": int(left)}


def clinic(request):
    roles = roles_of(getattr(request, "user", None))
    logo = settings.CLINIC_LOGO
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_logo": logo,
        "clinic_logo_is_url": logo.startswith(("https://", "/")),
        "user_roles": roles,
        "undo": _undo(request),
    }

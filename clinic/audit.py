"""Writing the audit log: one row per patient touched by a request."""

from collections.abc import Iterable
from uuid import UUID

from clinic.models import AuditLog


def client_ip(request) -> str | None:
    # Behind the compose proxy REMOTE_ADDR is the proxy; gunicorn is started with
    # --forwarded-allow-ips so that only a trusted proxy's header is believed.
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    request,
    action: str,
    resource: str,
    patient_ids: Iterable[UUID] = (),
    patients: Iterable = (),
    obj=None,
    object_id="",
    detail: str = "",
    actor: str = "",
) -> None:
    """Write one audit row per patient in one INSERT: the one audit helper of the API and the web UI.

    The patients are given by id, as rows, or as the one row `obj` (a session, a flag...) that names
    its patient and is the object the action was about. `actor` names who acted when no
    staff user is signed in (a patient's link).
    """
    patient_ids = [*patient_ids, *(p.pk for p in patients)]
    if obj is not None:
        patient_ids.append(obj.patient_id)
        object_id = object_id or obj.pk
    user = request.user if request.user.is_authenticated else None
    ip = client_ip(request)
    rows = [
        AuditLog(
            user=user,
            actor=actor[:64],
            action=action,
            patient_id=pid,
            resource=resource,
            object_id=str(object_id),
            detail=detail[:500],
            client_ip=ip,
        )
        for pid in dict.fromkeys(patient_ids)
    ]
    if rows:
        AuditLog.objects.bulk_create(rows)

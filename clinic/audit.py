"""Writing the audit log: one row per patient touched by a request."""

import uuid
from collections.abc import Iterable
from uuid import UUID

from django.db import connection
from django.utils import timezone

from clinic.models import AuditLog

# The columns every row of one call shares; the patient is the one that differs.
_SHARED = ("at", "user_id", "actor", "action", "resource", "object_id", "detail", "client_ip", "request_id")


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
    patient_ids = list(dict.fromkeys(patient_ids))
    if not patient_ids:
        return
    user = request.user if request.user.is_authenticated else None
    shared = {
        "at": timezone.now(),
        "user_id": user.pk if user is not None else None,
        "actor": actor[:64],
        "action": action,
        "resource": resource,
        "object_id": str(object_id),
        "detail": detail[:500],
        "client_ip": client_ip(request),
        "request_id": uuid.uuid4(),  # the rows of one request share it
    }
    if connection.vendor == "postgresql":
        _insert_set(shared, patient_ids)
    else:
        AuditLog.objects.bulk_create(AuditLog(patient_id=pid, **shared) for pid in patient_ids)


def _insert_set(shared: dict, patient_ids: list) -> None:
    """One INSERT … SELECT over the array of patient ids: a day view's 640 rows are one statement with ten
    parameters, not 6,400 (the same rows bulk_create would write; the triggers see each)."""
    fields = [AuditLog._meta.get_field(name) for name in _SHARED]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    casts = ", ".join(f"%s::{f.db_type(connection)}" for f in fields)
    patient = connection.ops.quote_name(AuditLog._meta.get_field("patient_id").column)
    table = connection.ops.quote_name(AuditLog._meta.db_table)
    # Only the model's own names are formatted in; every value is a parameter.
    sql = f"INSERT INTO {table} ({columns}, {patient}) SELECT {casts}, pid FROM unnest(%s::uuid[]) AS pid"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(shared[name] for name in _SHARED), patient_ids])

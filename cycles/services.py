"""Writes for protocol profiles and courses."""

from django.db import IntegrityError, transaction

from clinic.errors import Conflict, PermissionDenied, ValidationFailed
from clinic.roles import is_clinician
from cycles.models import Course, Protocol


@transaction.atomic
def protocol_update(*, protocol: Protocol, **fields) -> Protocol:
    """Change one profile: the courses on other profiles are untouched. `is_default: true` moves the
    default here; the default cannot be unset except by making another profile the default."""
    # Every profile locked, in one order: two admins moving the default at once cannot both win.
    list(Protocol.objects.select_for_update().order_by("pk").values_list("pk"))
    locked = Protocol.objects.get(pk=protocol.pk)
    make_default = fields.pop("is_default", None)
    if make_default is False and locked.is_default:
        raise ValidationFailed(
            "One profile is always the default: make another profile the default instead.",
            fields={"is_default": ["Make another profile the default instead."]},
        )
    for key, value in fields.items():
        setattr(locked, key, value)
    check_protocol(locked)
    locked.save()
    if make_default:
        return _make_default(locked)
    return locked


@transaction.atomic
def protocol_create(**fields) -> Protocol:
    protocol = Protocol(**{**fields, "is_default": False})
    check_protocol(protocol)
    protocol.save()
    if fields.get("is_default"):
        return _make_default(protocol)
    return protocol


def check_protocol(protocol: Protocol) -> None:
    """The rules of one profile against itself and the others (the API and the admin both ask here)."""
    if Protocol.objects.filter(name__iexact=protocol.name.strip()).exclude(pk=protocol.pk).exists():
        raise ValidationFailed(
            f"A protocol profile named “{protocol.name.strip()}” already exists.",
            fields={"name": ["Another profile has this name."]},
        )
    if protocol.max_units < protocol.standard_units:
        raise ValidationFailed("max_units is below standard_units.", fields={"max_units": ["Below standard_units."]})
    if protocol.min_interval_days > protocol.interval_days:
        raise ValidationFailed(
            "min_interval_days is above interval_days.", fields={"min_interval_days": ["Above interval_days."]}
        )


def _make_default(protocol: Protocol) -> Protocol:
    """Exactly one profile is the default: moving the mark is one statement each way, under the lock."""
    Protocol.objects.filter(is_default=True).exclude(pk=protocol.pk).update(is_default=False)
    Protocol.objects.filter(pk=protocol.pk).update(is_default=True)
    protocol.refresh_from_db()
    return protocol


@transaction.atomic
def course_update(
    *,
    course: Course,
    by,
    protocol: Protocol | None = None,
    status: str | None = None,
    diagnosis_code: str | None = None,
    referring_clinician: str | None = None,
) -> Course:
    """A clinician moves a course to another protocol profile, or pauses or resumes it (API.md courses).

    Every rule of the course reads its profile from then on: the next sweep reviews it by the new one.
    A stopped course stays stopped; a course resumes only if the patient has no other active course.
    """
    if by is None or not is_clinician(by):
        raise PermissionDenied("Only a clinician may change a course.")
    current = Course.objects.select_for_update().select_related("protocol").get(pk=course.pk)
    if current.status == Course.Status.STOPPED:
        raise Conflict("A stopped course cannot be changed; start a new course instead.", code="invalid_transition")
    if protocol is not None:
        current.protocol = protocol
    if diagnosis_code is not None:
        current.diagnosis_code = diagnosis_code
    if referring_clinician is not None:
        current.referring_clinician = referring_clinician.strip()
    if status is not None and status != current.status:
        if (
            status == Course.Status.ACTIVE
            and (
                Course.objects.filter(patient_id=current.patient_id, status=Course.Status.ACTIVE).exclude(pk=current.pk)
            ).exists()
        ):
            raise Conflict("The patient already has an active course.", code="invalid_transition")
        current.status = status
    try:
        with transaction.atomic():
            current.save(update_fields=["protocol", "status", "diagnosis_code", "referring_clinician"])
    except IntegrityError:
        raise Conflict("The patient already has an active course.", code="invalid_transition") from None
    return current

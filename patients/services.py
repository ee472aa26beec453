from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from clinic.errors import ValidationFailed
from patients import consent, events
from patients.models import DiaryEntry, Patient, PriorPreventive


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


@transaction.atomic
def patient_create(*, by=None, consent_note: str = "", **fields) -> Patient:
    consent.check_sms_opt_in(
        was_opted_in=False, fields=fields, phone=fields.get("phone", ""), by=by, consent_note=consent_note
    )
    if Patient.objects.filter(mrn=fields["mrn"]).exists():
        raise _fail("mrn", "A patient with this MRN already exists.")
    try:
        with transaction.atomic():
            return Patient.objects.create(**fields)
    except IntegrityError:
        # Two front desks registering the same MRN at once: the unique index decides.
        raise _fail("mrn", "A patient with this MRN already exists.") from None


@transaction.atomic
def patient_update(*, patient: Patient, by=None, consent_note: str = "", **fields) -> Patient:
    """Change a patient's details; SMS consent after a STOP follows patients.consent."""
    consent.check_sms_opt_in(
        was_opted_in=patient.sms_opt_in, fields=fields, phone=patient.phone, by=by, consent_note=consent_note
    )
    mrn = fields.get("mrn")
    if mrn and mrn != patient.mrn and Patient.objects.filter(mrn=mrn).exclude(pk=patient.pk).exists():
        raise _fail("mrn", "A patient with this MRN already exists.")
    for name, value in fields.items():
        setattr(patient, name, value)
    try:
        with transaction.atomic():
            patient.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise _fail("mrn", "A patient with this MRN already exists.") from None
    return patient


def preventive_create(*, patient: Patient, **fields) -> PriorPreventive:
    started, stopped = fields.get("started_on"), fields.get("stopped_on")
    if started and stopped and stopped < started:
        raise _fail("stopped_on", "Stopped before it was started.")
    return PriorPreventive.objects.create(patient=patient, **fields)


def _validate_diary(*, period_start: date, period_end: date, headache_days: int, migraine_days: int, **rest) -> None:
    if period_end < period_start:
        raise _fail("period_end", "The period ends before it starts.")
    days = (period_end - period_start).days + 1
    if days > DiaryEntry.MAX_PERIOD_DAYS:
        raise _fail("period_end", f"A diary period is at most {DiaryEntry.MAX_PERIOD_DAYS} days; this one is {days}.")
    for name in ("headache_days", "migraine_days", "acute_medication_days"):
        value = {"headache_days": headache_days, "migraine_days": migraine_days, **rest}.get(name)
        if value is not None and value > days:
            raise _fail(name, f"{value} days cannot fit in a period of {days} days.")
    if migraine_days > headache_days:
        raise _fail("migraine_days", "Migraine days cannot exceed headache days.")


@transaction.atomic
def diary_entry_create(
    *, patient: Patient, recorded_by: AbstractBaseUser | None, source: str = DiaryEntry.Source.CLINICIAN, **data
) -> DiaryEntry:
    """Record a diary period; refuses one that overlaps another period of the same patient.

    The patient row is locked so that two concurrent entries cannot both pass the
    overlap check (on PostgreSQL an exclusion constraint also guards it).
    """
    _validate_diary(**data)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    clash = (
        DiaryEntry.objects.filter(
            patient=patient, period_start__lte=data["period_end"], period_end__gte=data["period_start"]
        )
        .order_by("period_start")
        .first()
    )
    if clash:
        raise _fail(
            "period_start",
            f"This period overlaps the diary period {clash.period_start:%Y-%m-%d} to {clash.period_end:%Y-%m-%d}.",
        )
    try:
        with transaction.atomic():
            entry = DiaryEntry.objects.create(patient=patient, recorded_by=recorded_by, source=source, **data)
    except IntegrityError:
        raise _fail("period_start", "This period overlaps another diary period.") from None
    # Every diary entry re-runs the response review (DESIGN.md §4); cycles/ listens.
    events.diary_recorded.send(sender=DiaryEntry, patient_id=entry.patient_id)
    return entry

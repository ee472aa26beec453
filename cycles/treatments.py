"""Treatments: completion, past records, the PREEMPT record and doses, adverse events.

The rules a booking passes are in cycles/booking.py; this module records what was done.
"""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from clinic.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from clinic.roles import is_clinician
from clinic.timezones import local_date
from cycles import flags, rules, selectors, tasks
from cycles.booking import course_for_treatment
from cycles.models import AdverseEvent, Course, Protocol, ReviewFlag, TreatmentRecord
from patients.models import Patient
from scheduling import services as scheduling_services
from scheduling.models import Clinician, Location, Session

Status = Session.Status


# --- recording treatments -------------------------------------------------------------------------


def _clean_treatment(treatment: dict, *, treated_on: date, protocol: Protocol) -> dict:
    """Shape and label rules for one treatment; dose limits are checked separately."""
    units = treatment.get("units_by_muscle")
    if not isinstance(units, dict) or not units:
        raise ValidationFailed(
            "Units per muscle group are required.", fields={"treatment.units_by_muscle": ["Required."]}
        )
    unknown = sorted(set(units) - set(TreatmentRecord.MUSCLES))
    if unknown:
        raise ValidationFailed(
            "Unknown muscle group.",
            fields={"treatment.units_by_muscle": [f"Unknown: {', '.join(unknown)}."]},
        )
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in units.values()):
        raise ValidationFailed(
            "Units must be whole numbers ≥ 0.", fields={"treatment.units_by_muscle": ["Whole numbers ≥ 0."]}
        )
    total = sum(units.values())
    if total <= 0:
        raise ValidationFailed("No units were recorded.", fields={"treatment.units_by_muscle": ["Total is 0."]})
    lot_expiry = treatment.get("lot_expiry")
    if not isinstance(lot_expiry, date):
        raise ValidationFailed("Lot expiry is required.", fields={"treatment.lot_expiry": ["Required."]})
    if lot_expiry < treated_on:
        raise ValidationFailed(
            f"Lot expired on {lot_expiry}, before the treatment date {treated_on}.",
            fields={"treatment.lot_expiry": ["The lot had expired."]},
        )
    lot_number = str(treatment.get("lot_number") or "").strip()
    if not lot_number:
        raise ValidationFailed("Lot number is required.", fields={"treatment.lot_number": ["Required."]})
    wasted = treatment.get("units_wasted", 0) or 0
    if not isinstance(wasted, int) or wasted < 0:
        raise ValidationFailed("Units wasted must be ≥ 0.", fields={"treatment.units_wasted": ["Must be ≥ 0."]})
    sites = treatment.get("sites")
    if sites is None:
        sites = total // 5  # PREEMPT: 5 U per site
    if not isinstance(sites, int) or sites <= 0:
        raise ValidationFailed("Sites must be a positive count.", fields={"treatment.sites": ["Must be ≥ 1."]})
    if total > protocol.max_units:
        raise RuleViolation(
            f"{total} U is over the protocol maximum of {protocol.max_units} U per session.",
            code="dose_limit",
            total_units=total,
            max_units=protocol.max_units,
        )
    return {
        "units_by_muscle": {m: units[m] for m in TreatmentRecord.MUSCLES if m in units},
        "sites": sites,
        "total_units": total,
        "units_wasted": wasted,
        "lot_number": lot_number,
        "lot_expiry": lot_expiry,
    }


def _check_cumulative(*, session: Session, treated_on: date, total: int, protocol: Protocol) -> None:
    days = protocol.cumulative_limit_days
    near = selectors.treatments_near(patient=session.patient, start=session.start, days=days, exclude=session)
    peak = rules.cumulative_peak(treatments=[*near, (treated_on, total)], days=days)
    if peak > protocol.cumulative_limit_units:
        raise RuleViolation(
            f"This treatment would bring {peak} U within {days} days, over the limit of "
            f"{protocol.cumulative_limit_units} U.",
            code="dose_limit",
            cumulative_units=peak,
            cumulative_limit_units=protocol.cumulative_limit_units,
        )


def _renumber_cycles(course: Course | None) -> None:
    """Cycle number = order among the course's completed treatments (history included)."""
    if course is None:
        return
    ordered = list(
        Session.objects.filter(course=course, kind=Session.Kind.TREATMENT, status=Status.COMPLETED)
        .order_by("start", "id")
        .only("id", "cycle_number")
    )
    changed = []
    for number, session in enumerate(ordered, start=1):
        if session.cycle_number != number:
            session.cycle_number = number
            changed.append(session)
    if changed:
        Session.objects.bulk_update(changed, ["cycle_number"])


def adverse_events_record(*, session: Session, events: list[dict], by) -> list[AdverseEvent]:
    rows = []
    for index, event in enumerate(events or []):
        kind, severity = event.get("kind"), event.get("severity")
        if kind not in AdverseEvent.Kind.values:
            raise ValidationFailed("Unknown adverse event kind.", fields={f"adverse_events.{index}.kind": ["Unknown."]})
        if severity not in AdverseEvent.Severity.values:
            raise ValidationFailed(
                "Unknown adverse event severity.", fields={f"adverse_events.{index}.severity": ["Unknown."]}
            )
        rows.append(
            AdverseEvent(
                patient=session.patient,
                session=session,
                kind=kind,
                severity=severity,
                note=event.get("note", "") or "",
                recorded_by=by,
            )
        )
    AdverseEvent.objects.bulk_create(rows)
    urgent = [e for e in rows if e.is_urgent]
    if urgent:
        course = session.course or course_for_treatment(session.patient)
        flags.adverse_event_flag_raise(session=session, course=course, events=urgent)
    return rows


def _write_treatment(
    *, session: Session, treatment: dict, notes: str, by, protocol: Protocol, injector: Clinician
) -> TreatmentRecord:
    treated_on = local_date(session.start, session.location.zone)
    clean = _clean_treatment(treatment, treated_on=treated_on, protocol=protocol)
    _check_cumulative(session=session, treated_on=treated_on, total=clean["total_units"], protocol=protocol)
    return TreatmentRecord.objects.create(
        session=session, injector=injector, notes=notes or "", recorded_by=by, **clean
    )


def _require_clinician(by) -> None:
    if by is None or not is_clinician(by):
        raise PermissionDenied("Only a clinician may record a treatment.")


@transaction.atomic
def session_complete(
    *, session: Session, treatment: dict | None, adverse_events: list[dict], notes: str, by
) -> Session:
    """Record what was done at a checked-in session and close it.

    A treatment session needs a treatment body (dose limits, lot expiry); urgent
    adverse events open an `adverse_event` flag at once; the planner and the
    response review run after commit.
    """
    _require_clinician(by)
    # Patient first, then the session: the order reschedule uses too. The patient lock
    # also serialises the 90-day dose sum with any other treatment for them.
    Patient.objects.select_for_update().filter(pk=session.patient_id).first()
    current = scheduling_services.locked(session)
    scheduling_services.require(current, "complete", f"A {current.status} session cannot be completed.")
    if (
        current.course_id
        and ReviewFlag.objects.filter(
            course_id=current.course_id, kind=ReviewFlag.Kind.NO_BENEFIT, status=ReviewFlag.Status.OPEN
        ).exists()
    ):
        raise Conflict(
            "This course waits for a clinician's review of its response; resolve the flag first.",
            code="review_required",
        )
    is_treatment = current.kind == Session.Kind.TREATMENT
    if is_treatment and not treatment:
        raise ValidationFailed("A treatment session needs a treatment record.", fields={"treatment": ["Required."]})
    if is_treatment and current.course_id is None:
        current.course = course_for_treatment(current.patient)
    current.status = Status.COMPLETED
    current.completed_at = timezone.now()
    current.notes = notes or ""
    current.save()
    if is_treatment:
        # The injector is the clinician recording it when they have a Clinician row.
        injector = getattr(by, "clinician", None) or current.clinician
        _write_treatment(
            session=current,
            treatment=treatment,
            notes=notes,
            by=by,
            protocol=current.course.protocol,
            injector=injector,
        )
        _renumber_cycles(current.course)
        current.refresh_from_db(fields=["cycle_number"])
    adverse_events_record(session=current, events=adverse_events, by=by)
    if is_treatment:
        _after_treatment(current)
    return current


def _after_treatment(session: Session) -> None:
    """The next session is planned and the response reviewed once the treatment has committed."""
    session_id = str(session.id)
    transaction.on_commit(lambda: tasks.treatment_completed.delay(session_id))


@transaction.atomic
def treatment_record_past(
    *,
    patient: Patient,
    clinician: Clinician,
    location: Location,
    start: datetime,
    treatment: dict,
    by,
    end: datetime | None = None,
    adverse_events: list[dict] | None = None,
    notes: str = "",
) -> Session:
    """Import a treatment given in the past (e.g. at another clinic) as a completed session.

    A recorded fact: neither too_soon nor not_eligible applies, nor working hours;
    overlaps, lot expiry and dose limits do. It counts for cycle numbers and the
    12-week rule like any other completed treatment.
    """
    _require_clinician(by)
    if start.tzinfo is None:
        raise ValidationFailed("A datetime needs an offset.", fields={"start": ["Give an offset."]})
    scheduling_services.lock_for_booking(patient, clinician)
    course = course_for_treatment(patient)
    end = end or start + timedelta(minutes=course.protocol.session_minutes)
    session = scheduling_services.session_record_past(
        patient=patient, clinician=clinician, location=location, start=start, end=end, by=by, course=course
    )
    session.notes = notes or ""
    session.save(update_fields=["notes"])
    _write_treatment(
        session=session, treatment=treatment, notes=notes, by=by, protocol=course.protocol, injector=clinician
    )
    _renumber_cycles(course)
    session.refresh_from_db(fields=["cycle_number"])
    adverse_events_record(session=session, events=adverse_events or [], by=by)
    _after_treatment(session)
    return session

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
from cycles.booking import course_for_treatment, proposal_for, treatment_facts
from cycles.models import AdverseEvent, Course, Protocol, ReviewFlag, TreatmentRecord
from patients.models import Patient
from scheduling import services as scheduling_services
from scheduling.models import Clinician, Location, Session

Status = Session.Status


# --- recording treatments -------------------------------------------------------------------------


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def _clean_vials(vials, *, treated_on: date) -> list[dict]:
    if vials is None:
        return []
    if not isinstance(vials, list):
        raise _fail("treatment.vials", "A list of the vials opened.")
    clean = []
    for index, vial in enumerate(vials):
        size = vial.get("size_units") if isinstance(vial, dict) else None
        if size not in TreatmentRecord.VIAL_SIZES or isinstance(size, bool):
            raise _fail(f"treatment.vials.{index}.size_units", "A vial holds 100 or 200 units.")
        expiry = vial.get("lot_expiry")
        if expiry is not None and not isinstance(expiry, date):
            raise _fail(f"treatment.vials.{index}.lot_expiry", "A date, YYYY-MM-DD.")
        if expiry is not None and expiry < treated_on:
            raise _fail(f"treatment.vials.{index}.lot_expiry", f"This vial's lot expired on {expiry}.")
        clean.append(
            {
                "size_units": size,
                "lot_number": str(vial.get("lot_number") or "").strip()[:64],
                "lot_expiry": expiry.isoformat() if expiry else None,
            }
        )
    return clean


def _clean_treatment(treatment: dict, *, treated_on: date, protocol: Protocol) -> dict:
    """The record against the course protocol's PREEMPT template, vials and waste (DESIGN.md §2, API.md
    complete). Dose limits are checked here (per session) and by `_check_cumulative` (90 days)."""
    units = treatment.get("units_by_muscle")
    if not isinstance(units, dict) or not units:
        raise _fail("treatment.units_by_muscle", "Units per muscle group are required.")
    unknown = sorted(set(units) - set(TreatmentRecord.MUSCLES))
    if unknown:
        raise ValidationFailed(
            "Unknown muscle group.",
            fields={"treatment.units_by_muscle": [f"Unknown: {', '.join(unknown)}."]},
        )
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in units.values()):
        raise _fail("treatment.units_by_muscle", "Units must be whole numbers ≥ 0.")
    total = sum(units.values())
    if total <= 0:
        raise _fail("treatment.units_by_muscle", "No units were recorded.")
    lot_expiry = treatment.get("lot_expiry")
    if not isinstance(lot_expiry, date):
        raise _fail("treatment.lot_expiry", "Lot expiry is required.")
    if lot_expiry < treated_on:
        raise ValidationFailed(
            f"Lot expired on {lot_expiry}, before the treatment date {treated_on}.",
            fields={"treatment.lot_expiry": ["The lot had expired."]},
        )
    lot_number = str(treatment.get("lot_number") or "").strip()
    if not lot_number:
        raise _fail("treatment.lot_number", "Lot number is required.")
    vials = _clean_vials(treatment.get("vials"), treated_on=treated_on)
    given_waste = treatment.get("units_wasted")
    if given_waste is not None and (
        not isinstance(given_waste, int) or isinstance(given_waste, bool) or given_waste < 0
    ):
        raise _fail("treatment.units_wasted", "Units wasted must be a whole number ≥ 0.")
    if vials:
        wasted = rules.units_wasted_from_vials(vials=[v["size_units"] for v in vials], total_units=total)
        if wasted is None:
            opened = sum(v["size_units"] for v in vials)
            raise _fail("treatment.vials", f"The vials opened hold {opened} U, fewer than the {total} U given.")
        if given_waste is not None and given_waste != wasted:
            raise _fail(
                "treatment.units_wasted",
                f"The vials opened leave {wasted} U wasted ({sum(v['size_units'] for v in vials)} U − {total} U), "
                f"not {given_waste} U.",
            )
    else:
        wasted = given_waste or 0
        if wasted >= max(TreatmentRecord.VIAL_SIZES):
            raise _fail(
                "treatment.units_wasted",
                f"{wasted} U wasted is more than a single-dose vial holds; list the vials opened.",
            )
    sites = treatment.get("sites")
    if sites is None:
        sites = total // protocol.units_per_site
    if not isinstance(sites, int) or isinstance(sites, bool) or sites <= 0:
        raise _fail("treatment.sites", "Sites must be a positive count.")
    if total > protocol.max_units:
        raise RuleViolation(
            f"{total} U is over the protocol maximum of {protocol.max_units} U per session.",
            code="dose_limit",
            total_units=total,
            max_units=protocol.max_units,
        )
    deviation_reason = str(treatment.get("deviation_reason") or "").strip()
    deviations = rules.preempt_deviations(units=units, sites=sites, units_per_site=protocol.units_per_site)
    if deviations and not deviation_reason:
        raise ValidationFailed(
            "The record departs from the PREEMPT template: "
            + " ".join(deviations)
            + " Record a deviation reason if this was deliberate.",
            fields={"treatment": deviations},
        )
    return {
        "units_by_muscle": {m: units[m] for m in TreatmentRecord.MUSCLES if m in units},
        "sites": sites,
        "total_units": total,
        "units_wasted": wasted,
        "lot_number": lot_number,
        "lot_expiry": lot_expiry,
        "vials": vials,
        "deviation_reason": deviation_reason if deviations else "",
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


def _adverse_event(session: Session, event: dict, *, field: str, by, late: bool = False) -> AdverseEvent:
    kind, severity = event.get("kind"), event.get("severity")
    if kind not in AdverseEvent.Kind.values:
        raise _fail(f"{field}kind", "Unknown adverse event kind.")
    if severity not in AdverseEvent.Severity.values:
        raise _fail(f"{field}severity", "Unknown adverse event severity.")
    return AdverseEvent(
        patient=session.patient,
        session=session,
        kind=kind,
        severity=severity,
        note=event.get("note", "") or "",
        onset_on=event.get("onset_on"),
        reported_late=late,
        recorded_by=by,
    )


def _raise_urgent(session: Session, rows: list[AdverseEvent]) -> None:
    """The course protocol's urgent kinds (distant spread of toxin) or anything serious: a flag at once."""
    course = session.course or course_for_treatment(session.patient)
    urgent = [e for e in rows if e.is_urgent(course.protocol.urgent_adverse_events)]
    if urgent:
        flags.adverse_event_flag_raise(session=session, course=course, events=urgent)


def adverse_events_record(*, session: Session, events: list[dict], by) -> list[AdverseEvent]:
    rows = [_adverse_event(session, e, field=f"adverse_events.{i}.", by=by) for i, e in enumerate(events or [])]
    AdverseEvent.objects.bulk_create(rows)
    _raise_urgent(session, rows)
    return rows


@transaction.atomic
def adverse_event_report(*, session: Session, event: dict, by) -> AdverseEvent:
    """An adverse event the patient reports after the visit (API.md: POST /sessions/{id}/adverse-events/):
    only for a completed session; the same urgent-flag rule as at the visit."""
    _require_clinician(by, "Only a clinician may record an adverse event.")
    current = scheduling_services.locked(session)
    if current.status != Status.COMPLETED:
        raise Conflict(
            f"A {current.get_status_display().lower()} session has no visit to report an event after; "
            "record events when completing it.",
            code="invalid_transition",
        )
    onset = event.get("onset_on")
    if onset is not None and onset < local_date(current.start, current.location.zone):
        raise _fail("onset_on", "The onset cannot be before the treatment.")
    if onset is not None and onset > timezone.now().date() + timedelta(days=1):
        raise _fail("onset_on", "The onset cannot be in the future.")
    row = _adverse_event(current, event, field="", by=by, late=True)
    row.save()
    _raise_urgent(current, [row])
    return row


def _write_treatment(
    *, session: Session, treatment: dict, notes: str, by, protocol: Protocol, injector: Clinician
) -> TreatmentRecord:
    treated_on = local_date(session.start, session.location.zone)
    clean = _clean_treatment(treatment, treated_on=treated_on, protocol=protocol)
    _check_cumulative(session=session, treated_on=treated_on, total=clean["total_units"], protocol=protocol)
    return TreatmentRecord.objects.create(
        session=session, injector=injector, notes=notes or "", recorded_by=by, **clean
    )


def _require_clinician(by, message: str = "Only a clinician may record a treatment.") -> None:
    if by is None or not is_clinician(by):
        raise PermissionDenied(message)


@transaction.atomic
def session_complete(
    *, session: Session, treatment: dict | None, adverse_events: list[dict], notes: str, by, override_reason: str = ""
) -> Session:
    """Record what was done at a checked-in session and close it.

    A treatment session needs a treatment body (dose limits, lot expiry) and, on a
    protocol that requires it, a prior authorisation covering its date
    (`cycles.rules.authorization_rule`, the booking's own rule; the clinician's
    `override_reason`, or the one the session was booked with, passes it); urgent
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
    override_reason = (override_reason or "").strip()
    if is_treatment:
        _check_authorization(current, override_reason=override_reason or current.override_reason)
    if override_reason:
        current.override_reason = override_reason
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


def _check_authorization(session: Session, *, override_reason: str) -> None:
    """A treatment given outside the payer's approval is not paid: the booking rule, asked again at the
    visit (the approval may have been denied, or used up, since the booking). Read under the patient lock."""
    if not session.course.protocol.requires_authorization:
        return
    facts = treatment_facts([session.course])[session.course_id]
    proposal = proposal_for(session, exclude=session)
    violation = rules.treatment_violation(facts, proposal, rules=(rules.authorization_rule,))
    if violation is not None and not override_reason:
        raise violation


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

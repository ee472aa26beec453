"""Writes for scheduling: clinic setup, booking and the session lifecycle.

Every booking-like write locks the patient row and then the clinician row(s)
(`select_for_update`, always in that order, so two bookings never deadlock)
before it checks for overlaps. On PostgreSQL the exclusion constraints are the
last word: an overlap that slips past the checks is an IntegrityError, mapped
to the same 409. On SQLite the transaction is BEGIN IMMEDIATE, which takes the
database write lock up front and so serialises bookings.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from clinic.roles import is_clinician
from clinic.timezones import local_date, today_in
from patients.models import Patient, ReviewFlag
from scheduling import selectors, slots
from scheduling.models import (
    AdverseEvent,
    Clinician,
    Course,
    Location,
    Protocol,
    Session,
    TimeOff,
    TreatmentRecord,
    WorkingHours,
)

Status = Session.Status

# Which transitions each action allows (DESIGN.md §3 lifecycle).
_FROM = {
    "confirm": (Status.BOOKED,),
    "check_in": (Status.BOOKED, Status.CONFIRMED),
    "no_show": (Status.BOOKED, Status.CONFIRMED),
    "complete": (Status.CHECKED_IN,),
    "cancel": (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN),
    "reschedule": (Status.BOOKED, Status.CONFIRMED),
}


# --- clinic setup ---------------------------------------------------------------------


@transaction.atomic
def location_create(*, name: str, time_zone: str) -> Location:
    return Location.objects.create(name=name, time_zone=time_zone)


@transaction.atomic
def location_update(*, location: Location, **fields) -> Location:
    for key, value in fields.items():
        setattr(location, key, value)
    location.save()
    return location


@transaction.atomic
def clinician_create(*, name: str, user=None, locations=(), active: bool = True) -> Clinician:
    clinician = Clinician.objects.create(name=name, user=user, active=active)
    clinician.locations.set(locations)
    return clinician


@transaction.atomic
def clinician_update(*, clinician: Clinician, locations=None, **fields) -> Clinician:
    for key, value in fields.items():
        setattr(clinician, key, value)
    clinician.save()
    if locations is not None:
        clinician.locations.set(locations)
    return clinician


@transaction.atomic
def working_hours_create(
    *, clinician: Clinician, location: Location, weekday: int, start_time: time, end_time: time
) -> WorkingHours:
    """Hours at one location; a clinician cannot be in two places at once, so overlaps are refused."""
    if end_time <= start_time:
        raise ValidationFailed("Hours must end after they start.", fields={"end_time": ["Must be after start_time."]})
    Clinician.objects.select_for_update().get(pk=clinician.pk)
    clash = WorkingHours.objects.filter(
        clinician=clinician, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
    ).first()
    if clash is not None:
        raise ValidationFailed(
            "These hours overlap hours the clinician already has on that day.",
            fields={"start_time": [f"Overlaps {clash.start_time:%H:%M}–{clash.end_time:%H:%M}."]},
        )
    hours = WorkingHours.objects.create(
        clinician=clinician, location=location, weekday=weekday, start_time=start_time, end_time=end_time
    )
    clinician.locations.add(location)
    return hours


@transaction.atomic
def working_hours_delete(*, hours: WorkingHours) -> None:
    hours.delete()


@transaction.atomic
def time_off_delete(*, time_off: TimeOff) -> None:
    time_off.delete()


@transaction.atomic
def time_off_create(*, clinician: Clinician, start: datetime, end: datetime, reason: str = "") -> TimeOff:
    """Time off does not cancel sessions already booked; the front desk moves them."""
    if end <= start:
        raise ValidationFailed("Time off must end after it starts.", fields={"end": ["Must be after start."]})
    return TimeOff.objects.create(clinician=clinician, start=start, end=end, reason=reason)


@transaction.atomic
def protocol_update(*, protocol: Protocol, **fields) -> Protocol:
    locked = Protocol.objects.select_for_update().get(pk=protocol.pk)
    for key, value in fields.items():
        setattr(locked, key, value)
    if locked.max_units < locked.standard_units:
        raise ValidationFailed("max_units is below standard_units.", fields={"max_units": ["Below standard_units."]})
    if locked.min_interval_days > locked.interval_days:
        raise ValidationFailed(
            "min_interval_days is above interval_days.", fields={"min_interval_days": ["Above interval_days."]}
        )
    locked.save()
    return locked


# --- booking ---------------------------------------------------------------------------


def _notify(session: Session, event: str) -> None:
    from notifications.services import session_changed

    session_changed(session=session, event=event)


def _lock(patient: Patient, *clinicians: Clinician) -> None:
    """Patient first, then clinicians by id: the one lock order every booking uses."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    ids = sorted({c.pk for c in clinicians}, key=str)
    list(Clinician.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def _check_start(start: datetime, field: str = "start") -> datetime:
    """The start in UTC: arithmetic on a zone-aware datetime would be wall-clock arithmetic."""
    if start.tzinfo is None:
        raise ValidationFailed("A datetime needs an offset.", fields={field: ["Give an offset, e.g. +01:00."]})
    if start < timezone.now():
        raise ValidationFailed("That time has passed.", fields={field: ["Must be in the future."]})
    return start.astimezone(UTC)


def _check_clinician_free(
    *, clinician: Clinician, location: Location, start: datetime, end: datetime, exclude: Session | None
) -> None:
    when = start.astimezone(location.zone)
    label = f"{when:%Y-%m-%d %H:%M} ({location.time_zone})"
    if not clinician.active:
        raise Conflict(f"{clinician} is not taking bookings.", code="slot_unavailable")
    hours = selectors.working_hours_for(clinician=clinician, location=location, day=when.date())
    if not slots.fits_hours(start=start, end=end, hours=hours):
        raise Conflict(
            f"{clinician} does not work at {location} at {label} for the whole session.", code="slot_unavailable"
        )
    if TimeOff.objects.filter(clinician=clinician, start__lt=end, end__gt=start).exists():
        raise Conflict(f"{clinician} is on time off at {label}.", code="slot_unavailable")
    _check_no_overlap(clinician=clinician, patient=None, start=start, end=end, exclude=exclude, label=label)


def _check_no_overlap(*, clinician, patient, start, end, exclude, label) -> None:
    active = Session.objects.filter(status__in=Session.ACTIVE_STATUSES, start__lt=end, end__gt=start)
    if exclude is not None:
        active = active.exclude(pk=exclude.pk)
    if clinician is not None and active.filter(clinician=clinician).exists():
        raise Conflict(f"{clinician} already has a session at {label}.", code="slot_unavailable")
    if patient is not None and active.filter(patient=patient).exists():
        raise Conflict(f"The patient already has a session at {label}.", code="patient_busy")


def _save_session(session: Session) -> Session:
    """Insert or update under a savepoint; the PostgreSQL exclusion constraints answer 409."""
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as exc:
        message = str(exc)
        if "session_patient_no_overlap" in message:
            raise Conflict("The patient already has a session at that time.", code="patient_busy") from None
        if "session_clinician_no_overlap" in message:
            raise Conflict("The clinician already has a session at that time.", code="slot_unavailable") from None
        raise
    return session


def _check_interval(
    *, patient: Patient, location: Location, start: datetime, protocol: Protocol, exclude=None, enforce: bool = True
) -> bool:
    """too_soon: a treatment earlier than min_interval_days after the last completed one.

    Returns whether the treatment is late: after the booking window (day interval + window).
    """
    last = selectors.last_completed_treatment(patient=patient, before=start, exclude=exclude)
    if last is None:
        return False
    last_day = local_date(last.start, last.location.zone)
    earliest = last_day + timedelta(days=protocol.min_interval_days)
    day = local_date(start, location.zone)
    if enforce and day < earliest:
        raise RuleViolation(
            f"Too soon: the last treatment was on {last_day}; the earliest allowed date is {earliest}.",
            code="too_soon",
            earliest=earliest.isoformat(),
        )
    return day > last_day + timedelta(days=protocol.interval_days + protocol.window_days)


def _check_eligible(*, patient: Patient, course: Course | None) -> None:
    """not_eligible: a course's first treatment for a patient who does not meet the protocol."""
    if course is not None and course.sessions.filter(kind=Session.Kind.TREATMENT, status=Status.COMPLETED).exists():
        return
    from patients.selectors import eligibility_for_patient

    result = eligibility_for_patient(patient=patient)
    if not result.meets_protocol:
        raise RuleViolation(
            "The patient does not meet the protocol's criteria for a first treatment.",
            code="not_eligible",
            reasons=list(result.reasons),
        )


def _course_for_treatment(patient: Patient) -> Course:
    course = selectors.active_course(patient=patient)
    if course is None:
        course = Course.objects.create(patient=patient, protocol=Protocol.active())
    return course


def _check_override(override_reason: str, by) -> str:
    override_reason = (override_reason or "").strip()
    if override_reason and by is not None and not is_clinician(by):
        raise PermissionDenied("Only a clinician may override a clinical rule.")
    return override_reason


@transaction.atomic
def session_book(
    *,
    patient: Patient,
    clinician: Clinician,
    location: Location,
    start: datetime,
    kind: str,
    booked_by,
    override_reason: str = "",
    end: datetime | None = None,
    auto_booked: bool = False,
    course: Course | None = None,
) -> Session:
    """Book a session after every check of API.md's POST /sessions/.

    `booked_by` None is the system (the planner); an override needs a clinician.
    A treatment for a patient without an active course opens one.
    """
    override_reason = _check_override(override_reason, booked_by)
    start = _check_start(start)
    protocol = Protocol.active()
    end = end or start + timedelta(minutes=protocol.session_minutes)
    if end <= start:
        raise ValidationFailed("A session must end after it starts.", fields={"end": ["Must be after start."]})
    if kind not in Session.Kind.values:
        raise ValidationFailed("Unknown kind.", fields={"kind": [f"One of {', '.join(Session.Kind.values)}."]})
    _lock(patient, clinician)
    _check_clinician_free(clinician=clinician, location=location, start=start, end=end, exclude=None)
    label = f"{start.astimezone(location.zone):%Y-%m-%d %H:%M}"
    _check_no_overlap(clinician=None, patient=patient, start=start, end=end, exclude=None, label=label)
    late = False
    if kind == Session.Kind.TREATMENT:
        course = course or _course_for_treatment(patient)
        late = _check_interval(
            patient=patient, location=location, start=start, protocol=protocol, enforce=not override_reason
        )
        if not override_reason:
            _check_eligible(patient=patient, course=course)
    elif course is None:
        course = selectors.active_course(patient=patient)
    session = _save_session(
        Session(
            patient=patient,
            course=course,
            clinician=clinician,
            location=location,
            kind=kind,
            start=start,
            end=end,
            auto_booked=auto_booked,
            override_reason=override_reason,
            booked_by=booked_by,
            late=late,
        )
    )
    _notify(session, "booked")
    return session


def _locked(session: Session) -> Session:
    # `of=("self",)`: lock the session row only. Locking its patient and clinician here
    # too would take them in no fixed order and could deadlock with a booking.
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("patient", "clinician", "location")
        .get(pk=session.pk)
    )


def _require(session: Session, action: str, detail: str) -> None:
    if session.status not in _FROM[action]:
        raise Conflict(detail, code="invalid_transition")


@transaction.atomic
def session_reschedule(
    *, session: Session, start: datetime, clinician: Clinician | None = None, by, override_reason: str = ""
) -> Session:
    """Move a booked or confirmed session, keeping its length; the same checks as booking.

    A confirmed session goes back to booked: the patient confirmed the old time. As when
    booking, a clinician may override too_soon with a reason; an earlier override still holds.
    """
    override_reason = _check_override(override_reason, by)
    start = _check_start(start)
    current = Session.objects.select_related("patient", "clinician", "location").get(pk=session.pk)
    clinician = clinician or current.clinician
    _lock(current.patient, current.clinician, clinician)
    current = _locked(session)
    _require(current, "reschedule", f"A {current.status} session cannot be rescheduled.")
    end = start + current.duration
    _check_clinician_free(clinician=clinician, location=current.location, start=start, end=end, exclude=current)
    label = f"{start.astimezone(current.location.zone):%Y-%m-%d %H:%M}"
    _check_no_overlap(clinician=None, patient=current.patient, start=start, end=end, exclude=current, label=label)
    if current.kind == Session.Kind.TREATMENT:
        current.late = _check_interval(
            patient=current.patient,
            location=current.location,
            start=start,
            protocol=Protocol.active(),
            exclude=current,
            enforce=not (override_reason or current.override_reason),
        )
    if override_reason:
        current.override_reason = override_reason
    current.start, current.end, current.clinician = start, end, clinician
    if current.status == Status.CONFIRMED:
        current.status, current.confirmed_at = Status.BOOKED, None
    _save_session(current)
    _notify(current, "rescheduled")
    return current


@transaction.atomic
def session_cancel(*, session: Session, reason: str, by) -> Session:
    current = _locked(session)
    _require(current, "cancel", f"A {current.status} session cannot be cancelled.")
    current.status = Status.CANCELLED
    current.cancel_reason = (reason or "")[:500]
    current.cancelled_at = timezone.now()
    current.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
    _notify(current, "cancelled")
    return current


@transaction.atomic
def session_confirm(*, session: Session, by=None) -> Session:
    current = _locked(session)
    _require(current, "confirm", f"A {current.status} session cannot be confirmed.")
    current.status = Status.CONFIRMED
    current.confirmed_at = timezone.now()
    current.save(update_fields=["status", "confirmed_at", "updated_at"])
    return current


@transaction.atomic
def session_check_in(*, session: Session, by) -> Session:
    """Any time on the session's local date at its location."""
    current = _locked(session)
    _require(current, "check_in", f"A {current.status} session cannot be checked in.")
    zone = current.location.zone
    if today_in(zone) != local_date(current.start, zone):
        raise Conflict(
            f"Check-in is only possible on {local_date(current.start, zone)} ({current.location.time_zone}).",
            code="invalid_transition",
        )
    current.status = Status.CHECKED_IN
    current.checked_in_at = timezone.now()
    current.save(update_fields=["status", "checked_in_at", "updated_at"])
    return current


@transaction.atomic
def session_no_show(*, session: Session, by) -> Session:
    """Only once the session's start has passed."""
    current = _locked(session)
    _require(current, "no_show", f"A {current.status} session cannot be marked as a no-show.")
    if timezone.now() < current.start:
        raise Conflict("A session cannot be a no-show before it starts.", code="invalid_transition")
    current.status = Status.NO_SHOW
    current.save(update_fields=["status", "updated_at"])
    return current


# --- treatment records -----------------------------------------------------------------


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


def cumulative_peak(*, treatments: list[tuple[date, int]], days: int) -> int:
    """The most units given inside any `days`-day window (pure; dates are local treatment dates)."""
    ordered = sorted(treatments)
    peak = 0
    for anchor, _ in ordered:
        peak = max(peak, sum(u for d, u in ordered if anchor <= d < anchor + timedelta(days=days)))
    return peak


def _check_cumulative(*, session: Session, treated_on: date, total: int, protocol: Protocol) -> None:
    days = protocol.cumulative_limit_days
    near = selectors.treatments_near(patient=session.patient, start=session.start, days=days, exclude=session)
    peak = cumulative_peak(treatments=[*near, (treated_on, total)], days=days)
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


def _record_adverse_events(*, session: Session, events: list[dict], by) -> list[AdverseEvent]:
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
        _raise_adverse_event_flag(session=session, events=urgent)
    return rows


def _raise_adverse_event_flag(*, session: Session, events: list[AdverseEvent]) -> None:
    """Open (or add to) the adverse_event review flag for this cycle at once."""
    course = session.course or selectors.active_course(patient=session.patient)
    if course is None:
        course = Course.objects.create(patient=session.patient, protocol=Protocol.active())
    cycle = session.cycle_number or 0
    details = {
        "session": str(session.id),
        "events": [{"kind": e.kind, "severity": e.severity} for e in events],
        "kind": events[0].kind,
        "severity": events[0].severity,
    }
    open_flag = ReviewFlag.objects.filter(
        course=course, kind=ReviewFlag.Kind.ADVERSE_EVENT, cycle=cycle, status=ReviewFlag.Status.OPEN
    ).first()
    if open_flag is not None:
        open_flag.details = {**open_flag.details, "events": [*open_flag.details.get("events", []), *details["events"]]}
        open_flag.save(update_fields=["details"])
        return
    try:
        with transaction.atomic():
            ReviewFlag.objects.create(
                patient=session.patient,
                course=course,
                session=session,
                kind=ReviewFlag.Kind.ADVERSE_EVENT,
                cycle=cycle,
                details=details,
            )
    except IntegrityError:
        pass  # another writer opened the same flag a moment ago: one open flag is the point


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
    current = _locked(session)
    _require(current, "complete", f"A {current.status} session cannot be completed.")
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
        current.course = _course_for_treatment(current.patient)
    current.status = Status.COMPLETED
    current.completed_at = timezone.now()
    current.notes = notes or ""
    current.save()
    if is_treatment:
        # The injector is the clinician recording it when they have a Clinician row.
        injector = getattr(by, "clinician", None) or current.clinician
        _write_treatment(
            session=current, treatment=treatment, notes=notes, by=by, protocol=Protocol.active(), injector=injector
        )
        _renumber_cycles(current.course)
        current.refresh_from_db(fields=["cycle_number"])
    _record_adverse_events(session=current, events=adverse_events, by=by)
    if is_treatment:
        from scheduling.tasks import treatment_completed

        session_id = str(current.id)
        transaction.on_commit(lambda: treatment_completed.delay(session_id))
    return current


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
    start = start.astimezone(UTC)
    protocol = Protocol.active()
    end = end or start + timedelta(minutes=protocol.session_minutes)
    if end > timezone.now():
        raise ValidationFailed("A past treatment must have ended already.", fields={"start": ["Must be in the past."]})
    _lock(patient, clinician)
    label = f"{start.astimezone(location.zone):%Y-%m-%d %H:%M}"
    _check_no_overlap(clinician=clinician, patient=patient, start=start, end=end, exclude=None, label=label)
    course = _course_for_treatment(patient)
    now = timezone.now()
    session = _save_session(
        Session(
            patient=patient,
            course=course,
            clinician=clinician,
            location=location,
            kind=Session.Kind.TREATMENT,
            start=start,
            end=end,
            status=Status.COMPLETED,
            booked_by=by,
            checked_in_at=now,
            completed_at=now,
            notes=notes or "",
        )
    )
    _write_treatment(session=session, treatment=treatment, notes=notes, by=by, protocol=protocol, injector=clinician)
    _renumber_cycles(course)
    session.refresh_from_db(fields=["cycle_number"])
    _record_adverse_events(session=session, events=adverse_events or [], by=by)
    from scheduling.tasks import treatment_completed

    session_id = str(session.id)
    transaction.on_commit(lambda: treatment_completed.delay(session_id))
    return session

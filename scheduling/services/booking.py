"""Booking and moving sessions: the calendar's checks, the registered booking policy, the insert.

Every booking-like write locks the patient row and then the clinician row(s)
(`select_for_update`, always in that order, so two bookings never deadlock)
before it checks for overlaps. On PostgreSQL the exclusion constraints are the
last word: an overlap that slips past the checks is an IntegrityError, mapped
to the same 409. On SQLite the transaction is BEGIN IMMEDIATE, which takes the
database write lock up front and so serialises bookings.

The checks are the calendar's (`scheduling.calendar.Calendar.problem`: working
hours, time off, the clinician's and the patient's other sessions), then the
registered booking policy's (`scheduling.policy`: the course rules of cycles/).
"""

from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.errors import Conflict, PermissionDenied, ValidationFailed
from clinic.roles import is_clinician
from patients.models import Patient
from scheduling import events, policy, selectors
from scheduling.calendar import Problem
from scheduling.models import Clinician, Location, Session
from scheduling.services.transitions import locked, require

Status = Session.Status


def lock_for_booking(patient: Patient, *clinicians: Clinician) -> None:
    """Patient first, then clinicians by id: the one lock order every booking uses."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    ids = sorted({c.pk for c in clinicians}, key=str)
    list(Clinician.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def check_start(start: datetime, field: str = "start") -> datetime:
    """The start in UTC: arithmetic on a zone-aware datetime would be wall-clock arithmetic."""
    if start.tzinfo is None:
        raise ValidationFailed("A datetime needs an offset.", fields={field: ["Give an offset, e.g. +01:00."]})
    if start < timezone.now():
        raise ValidationFailed("That time has passed.", fields={field: ["Must be in the future."]})
    return start.astimezone(UTC)


def check_override(override_reason: str, by) -> str:
    """A rule may be overridden only by a clinician, with a reason (`by` None is the system)."""
    override_reason = (override_reason or "").strip()
    if override_reason and by is not None and not is_clinician(by):
        raise PermissionDenied("Only a clinician may override a clinical rule.")
    return override_reason


def _label(start: datetime, location: Location) -> str:
    return f"{start.astimezone(location.zone):%Y-%m-%d %H:%M} ({location.time_zone})"


def check_free(
    *,
    clinician: Clinician,
    location: Location,
    patient: Patient,
    start: datetime,
    end: datetime,
    exclude: Session | None = None,
    working_hours: bool = True,
) -> selectors.BookingCalendar:
    """409 unless the clinician works then, is not on leave, and neither they nor the patient is busy;
    returns what was read (`selectors.booking_calendar`), for the policy's check.

    `working_hours=False` for a treatment recorded after the fact: it happened, wherever the hours were.
    """
    read = selectors.booking_calendar(
        clinician_id=clinician.pk, location_id=location.pk, patient_id=patient.pk, start=start, end=end, exclude=exclude
    )
    _refuse_problems(read, start, end, patient_id=patient.pk, working_hours=working_hours)
    return read


def _refuse_problems(read, start: datetime, end: datetime, *, patient_id, working_hours: bool = True) -> None:
    clinician, location = read.clinician, read.location
    if clinician is None:
        raise ValidationFailed("No such clinician.", fields={"clinician": ["No clinician has this id."]})
    if location is None:
        raise ValidationFailed("No such location.", fields={"location": ["No location has this id."]})
    label = _label(start, location)
    if working_hours and not clinician.active:
        raise Conflict(f"{clinician} is not taking bookings.", code="slot_unavailable")
    problem = read.calendar.problem(start, end, clinician_id=clinician.pk, patient_id=patient_id, hours=working_hours)
    messages = {
        Problem.OUTSIDE_HOURS: (
            f"{clinician} does not work at {location} at {label} for the whole session.",
            "slot_unavailable",
        ),
        Problem.TIME_OFF: (f"{clinician} is on time off at {label}.", "slot_unavailable"),
        Problem.CLINICIAN_BUSY: (f"{clinician} already has a session at {label}.", "slot_unavailable"),
        Problem.PATIENT_BUSY: (f"The patient already has a session at {label}.", "patient_busy"),
    }
    if problem is not None:
        detail, code = messages[problem]
        raise Conflict(detail, code=code)


def _check_length(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed("A session must end after it starts.", fields={"end": ["Must be after start."]})
    if end - start > Session.MAX_LENGTH:
        hours = Session.MAX_LENGTH.total_seconds() / 3600
        raise ValidationFailed(
            f"A session lasts at most {hours:g} hours.", fields={"end": [f"At most {hours:g} hours after start."]}
        )


def _overlap_conflict(exc: IntegrityError) -> Exception:
    message = str(exc)
    if "session_patient_no_overlap" in message:
        return Conflict("The patient already has a session at that time.", code="patient_busy")
    if "session_clinician_no_overlap" in message:
        return Conflict("The clinician already has a session at that time.", code="slot_unavailable")
    return exc


def session_save(session: Session) -> Session:
    """Insert or update under a savepoint; the PostgreSQL exclusion constraints answer 409."""
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as exc:
        raise _overlap_conflict(exc) from None
    return session


def session_book(
    *,
    patient,
    clinician,
    location,
    start: datetime,
    kind: str,
    booked_by,
    override_reason: str = "",
    end: datetime | None = None,
    auto_booked: bool = False,
    course=None,
) -> Session:
    """Book a session after every check of API.md's POST /sessions/. `patient`, `clinician` and
    `location` are rows or their ids (the API passes ids: the booking reads the rows it locks and
    joins anyway, unknown ones are a 400 naming the field).

    `booked_by` None is the system; an override needs a clinician. The registered
    booking policy (cycles/) gives the default length, applies the course rules and
    attaches the course (a treatment for a patient without an active course opens one).

    Queries, whatever the clinic's size: 1 the patient locked with what the policy needs
    (`policy.begin`), 2 the clinician's hours at the location (clinician and location joined),
    3 the clinician's time off and sessions, 4 the patient's sessions, 5 the insert, then the
    outbox rows (notifications/). Only the patient is locked: on PostgreSQL the exclusion
    constraints keep the clinician's time, on SQLite BEGIN IMMEDIATE serialises every booking.
    """
    override_reason = check_override(override_reason, booked_by)
    start = check_start(start)
    if kind not in Session.Kind.values:
        raise ValidationFailed("Unknown kind.", fields={"kind": [f"One of {', '.join(Session.Kind.values)}."]})
    try:
        with transaction.atomic():
            session = _book(
                patient_id=getattr(patient, "pk", patient),
                clinician_id=getattr(clinician, "pk", clinician),
                location_id=getattr(location, "pk", location),
                start=start,
                end=end,
                kind=kind,
                booked_by=booked_by,
                override_reason=override_reason,
                auto_booked=auto_booked,
                course=course,
            )
    except IntegrityError as exc:
        # The exclusion constraints are the last word on overlaps (a booking that slipped past the checks).
        raise _overlap_conflict(exc) from None
    return session


def _book(*, patient_id, clinician_id, location_id, start, end, kind, booked_by, override_reason, auto_booked, course):
    context = policy.current().begin(patient_id=patient_id, kind=kind)
    if context is None:
        raise ValidationFailed("No such patient.", fields={"patient": ["No patient has this id."]})
    end = end or start + context.length
    _check_length(start, end)
    read = selectors.booking_calendar(
        clinician_id=clinician_id, location_id=location_id, patient_id=patient_id, start=start, end=end
    )
    _refuse_problems(read, start, end, patient_id=patient_id)
    session = Session(
        patient=context.patient,
        course=course,
        clinician=read.clinician,
        location=read.location,
        kind=kind,
        start=start,
        end=end,
        auto_booked=auto_booked,
        override_reason=override_reason,
        booked_by=booked_by,
    )
    policy.current().check(
        session=session,
        override_reason=override_reason,
        by=booked_by,
        context=context,
        patient_sessions=read.patient_sessions,
    )
    session.save(force_insert=True)
    events.session_event(session=session, event=events.SessionEvent.BOOKED, by=booked_by)
    return session


@transaction.atomic
def session_reschedule(
    *, session: Session, start: datetime, clinician: Clinician | None = None, by, override_reason: str = ""
) -> Session:
    """Move a booked or confirmed session, keeping its length; the same checks as booking.

    A confirmed session goes back to booked: the patient confirmed the old time. As when
    booking, a clinician may override a course rule with a reason; an earlier override still holds.
    """
    override_reason = check_override(override_reason, by)
    start = check_start(start)
    current = Session.objects.select_related("patient", "clinician", "location").get(pk=session.pk)
    clinician = clinician or current.clinician
    lock_for_booking(current.patient, current.clinician, clinician)
    current = locked(session)
    require(current, "reschedule", f"A {current.status} session cannot be rescheduled.")
    end = start + current.duration
    read = check_free(
        clinician=clinician, location=current.location, patient=current.patient, start=start, end=end, exclude=current
    )
    current.start, current.end, current.clinician = start, end, clinician
    policy.current().check(
        session=current,
        override_reason=override_reason or current.override_reason,
        by=by,
        exclude=current,
        patient_sessions=read.patient_sessions,
    )
    if override_reason:
        current.override_reason = override_reason
    if current.status == Status.CONFIRMED:
        current.status, current.confirmed_at = Status.BOOKED, None
    session_save(current)
    events.session_event(session=current, event=events.SessionEvent.RESCHEDULED, by=by)
    return current


@transaction.atomic
def session_record_past(
    *, patient: Patient, clinician: Clinician, location: Location, start: datetime, end: datetime, by, course=None
) -> Session:
    """A session that took place before it was entered here (history from another system): completed,
    outside the booking rules and working hours; overlaps still refused."""
    if start.tzinfo is None:
        raise ValidationFailed("A datetime needs an offset.", fields={"start": ["Give an offset."]})
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    _check_length(start, end)
    if end > timezone.now():
        raise ValidationFailed("A past treatment must have ended already.", fields={"start": ["Must be in the past."]})
    lock_for_booking(patient, clinician)
    check_free(clinician=clinician, location=location, patient=patient, start=start, end=end, working_hours=False)
    now = timezone.now()
    return session_save(
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
        )
    )

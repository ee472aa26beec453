"""Reads for scheduling: pre-joined querysets and the free-slot search."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from clinic.timezones import day_bounds, local_date
from patients.models import Patient, ReviewFlag
from scheduling import slots
from scheduling.models import Course, Location, Protocol, Session, TimeOff, TreatmentRecord, WorkingHours

MAX_SLOT_RANGE_DAYS = 31


def open_no_benefit_flag() -> Exists:
    """Annotation: the session's course waits for a clinician's review of a no-benefit flag."""
    return Exists(
        ReviewFlag.objects.filter(
            course=OuterRef("course_id"), kind=ReviewFlag.Kind.NO_BENEFIT, status=ReviewFlag.Status.OPEN
        )
    )


def session_list(
    *,
    patient=None,
    clinician=None,
    location=None,
    status: str | None = None,
    kind: str | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
) -> QuerySet[Session]:
    """Sessions with patient, clinician and location joined.

    `from_date`/`to_date` are inclusive local dates of each session's own location:
    a session matches when its start falls on a local date in the range at the
    location where it takes place (one locations query builds the per-zone bounds).
    """
    sessions = Session.objects.select_related("patient", "clinician", "location").annotate(
        review_required=open_no_benefit_flag()
    )
    if patient is not None:
        sessions = sessions.filter(patient=patient)
    if clinician is not None:
        sessions = sessions.filter(clinician=clinician)
    if location is not None:
        sessions = sessions.filter(location=location)
    if status:
        sessions = sessions.filter(status=status)
    if kind:
        sessions = sessions.filter(kind=kind)
    if from_date or to_date:
        locations = [location] if location is not None else list(Location.objects.all())
        bounds = Q(pk__in=[])
        for loc in locations:
            in_zone = Q(location=loc)
            if from_date:
                in_zone &= Q(start__gte=day_bounds(from_date, loc.zone)[0])
            if to_date:
                in_zone &= Q(start__lt=day_bounds(to_date, loc.zone)[1])
            bounds |= in_zone
        sessions = sessions.filter(bounds)
    return sessions.order_by("start", "id")


def session_detail(*, pk) -> Session:
    return session_list().get(pk=pk)


def last_completed_treatment(*, patient: Patient, before: datetime | None = None, exclude=None) -> Session | None:
    sessions = Session.objects.filter(
        patient=patient, kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED
    ).select_related("location")
    if before is not None:
        sessions = sessions.filter(start__lt=before)
    if exclude is not None:
        sessions = sessions.exclude(pk=exclude.pk)
    return sessions.order_by("-start").first()


def active_course(*, patient: Patient) -> Course | None:
    return Course.objects.filter(patient=patient, status=Course.Status.ACTIVE).first()


def treatments_near(*, patient: Patient, start: datetime, days: int, exclude=None) -> list[tuple[date, int]]:
    """(local date, total units) of the patient's recorded treatments within `days` of `start`."""
    records = TreatmentRecord.objects.filter(
        session__patient=patient,
        session__status=Session.Status.COMPLETED,
        session__start__gt=start - timedelta(days=days + 1),
        session__start__lt=start + timedelta(days=days + 1),
    ).select_related("session__location")
    if exclude is not None:
        records = records.exclude(session=exclude)
    return [(local_date(r.session.start, r.session.location.zone), r.total_units) for r in records]


@dataclass(frozen=True)
class Availability:
    """What the slot search needs for some locations over [start, end): the working-hours rules per
    location and, per clinician with hours there, the intervals they are busy (any location's active
    sessions, time off)."""

    hours: dict  # location id -> [slots.HoursRule]
    busy: dict  # clinician id -> [(start, end)]


def availability(*, location_ids, start: datetime, end: datetime, clinician=None) -> Availability:
    """Three queries whatever the number of sessions: working hours, time off, active sessions."""
    hours_rows = WorkingHours.objects.filter(location_id__in=location_ids, clinician__active=True)
    if clinician is not None:
        hours_rows = hours_rows.filter(clinician=clinician)
    hours: dict = {}
    for location_id, cid, weekday, start_time, end_time in hours_rows.values_list(
        "location_id", "clinician_id", "weekday", "start_time", "end_time"
    ):
        hours.setdefault(location_id, []).append(slots.HoursRule(cid, weekday, start_time, end_time))
    clinician_ids = hours_rows.values("clinician_id")
    busy: dict = {}
    for cid, busy_start, busy_end in TimeOff.objects.filter(
        clinician_id__in=clinician_ids, start__lt=end, end__gt=start
    ).values_list("clinician_id", "start", "end"):
        busy.setdefault(cid, []).append((busy_start, busy_end))
    for cid, busy_start, busy_end in Session.objects.filter(
        clinician_id__in=clinician_ids, status__in=Session.ACTIVE_STATUSES, start__lt=end, end__gt=start
    ).values_list("clinician_id", "start", "end"):
        busy.setdefault(cid, []).append((busy_start, busy_end))
    return Availability(hours=hours, busy=busy)


def free_slots_for(*, location: Location, **options) -> list[slots.Slot]:
    """Free slots at one location (`free_slots_at`)."""
    return free_slots_at(locations=[location], **options)


def free_slots_at(
    *,
    locations: list[Location],
    clinician=None,
    start_date: date,
    end_date: date,
    now: datetime | None = None,
    protocol: Protocol | None = None,
) -> list[slots.Slot]:
    """Free slots of `session_minutes` at the locations, for local dates start_date..end_date inclusive
    (each location's own), sorted by start.

    Four queries whatever the number of sessions and locations: the active
    protocol (unless given) and `availability` (working hours, time off, active
    sessions). A clinician busy at another location is busy here too. Slots that
    start before `now` (default: the current time) are left out.
    """
    if end_date < start_date:
        raise ValueError("end_date before start_date")
    if (end_date - start_date).days > MAX_SLOT_RANGE_DAYS:
        raise ValueError(f"at most {MAX_SLOT_RANGE_DAYS} days")
    protocol = protocol or Protocol.active()
    length = timedelta(minutes=protocol.session_minutes)
    now = now or timezone.now()
    if not locations:
        return []
    range_start = min(day_bounds(start_date, loc.zone)[0] for loc in locations)
    range_end = max(day_bounds(end_date, loc.zone)[1] for loc in locations)
    free = availability(
        location_ids=[loc.id for loc in locations], start=range_start, end=range_end, clinician=clinician
    )

    out: list[slots.Slot] = []
    for loc in locations:
        rules = free.hours.get(loc.id, [])
        expanded = slots.expand_hours(rules=rules, start_date=start_date, end_date=end_date, tz=loc.zone)
        for cid, hours in expanded.items():
            for start, end in slots.free_slots(hours=hours, busy=free.busy.get(cid, []), length=length):
                if start >= now:
                    out.append(slots.Slot(cid, loc.id, start, end))
    out.sort(key=lambda s: (s.start, str(s.clinician_id), str(s.location_id)))
    return out


def working_hours_for(*, clinician, location: Location, day: date) -> list[tuple[datetime, datetime]]:
    rules = [
        slots.HoursRule(clinician.id, wh.weekday, wh.start_time, wh.end_time)
        for wh in WorkingHours.objects.filter(clinician=clinician, location=location, weekday=day.weekday())
    ]
    return slots.expand_hours(rules=rules, start_date=day, end_date=day, tz=location.zone).get(clinician.id, [])

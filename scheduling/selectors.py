"""Reads for scheduling: pre-joined querysets and the free-slot search."""

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter, itemgetter

from django.db.models import CharField, Q, QuerySet, Value
from django.utils import timezone

from clinic.timezones import day_bounds
from scheduling import policy, slots
from scheduling.calendar import Calendar
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours

MAX_SLOT_RANGE_DAYS = 31


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
    sessions = Session.objects.select_related("patient", "clinician", "location")
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


@dataclass(frozen=True)
class Availability:
    """What the slot search needs for some locations over [start, end): the working-hours rules per
    location and, per clinician with hours there, their active sessions anywhere and their time off."""

    hours: dict  # location id -> [slots.HoursRule]
    busy: dict  # clinician id -> [(start, end)] active sessions
    time_off: dict  # clinician id -> [(start, end)]

    def calendar(self, *, location: Location, start_date: date, end_date: date, patient_busy=None) -> Calendar:
        """The Calendar of one location over local dates start_date..end_date (lists shared, not copied: a
        session placed at one location makes its clinician busy at the others too)."""
        hours = slots.expand_hours(
            rules=self.hours.get(location.id, []), start_date=start_date, end_date=end_date, tz=location.zone
        )
        return Calendar(
            hours=hours,
            busy=self.busy,
            time_off=self.time_off,
            patient_busy={} if patient_busy is None else patient_busy,
        )


def availability(*, location_ids, start: datetime, end: datetime, clinician=None, exclude=None) -> Availability:
    """Three queries whatever the number of sessions: working hours, time off, active sessions
    (but `exclude`, a session being moved)."""
    hours_rows = WorkingHours.objects.filter(location_id__in=location_ids, clinician__active=True)
    if clinician is not None:
        hours_rows = hours_rows.filter(clinician=clinician)
    hours: dict = {}
    clinician_ids = set()
    for location_id, cid, weekday, start_time, end_time in hours_rows.values_list(
        "location_id", "clinician_id", "weekday", "start_time", "end_time"
    ):
        hours.setdefault(location_id, []).append(slots.HoursRule(cid, weekday, start_time, end_time))
        clinician_ids.add(cid)
    # The ids as values, not a subquery: PostgreSQL then reads each clinician's sessions in the window from the
    # (clinician, start) index; with a subquery it may read every location's sessions in the window instead.
    clinician_ids = [clinician.pk] if clinician is not None else sorted(clinician_ids, key=str)
    time_off: dict = {}
    for cid, busy_start, busy_end in TimeOff.objects.filter(
        clinician_id__in=clinician_ids, start__lt=end, end__gt=start
    ).values_list("clinician_id", "start", "end"):
        time_off.setdefault(cid, []).append((busy_start, busy_end))
    sessions = Session.objects.filter(
        clinician_id__in=clinician_ids, status__in=Session.ACTIVE_STATUSES, start__lt=end, end__gt=start
    ).filter(start__gt=start - Session.MAX_LENGTH)  # the index's lower bound: cost follows the window
    if exclude is not None:
        sessions = sessions.exclude(pk=exclude.pk)
    busy: dict = {}
    for cid, busy_start, busy_end in sessions.values_list("clinician_id", "start", "end"):
        busy.setdefault(cid, []).append((busy_start, busy_end))
    return Availability(hours=hours, busy=busy, time_off=time_off)


def patients_busy(*, patient_ids, start: datetime, end: datetime, exclude=None) -> dict:
    """{patient id: [(start, end)]}: the patients' active sessions overlapping [start, end). One query."""
    sessions = Session.objects.filter(
        patient_id__in=patient_ids, status__in=Session.ACTIVE_STATUSES, start__lt=end, end__gt=start
    ).filter(start__gt=start - Session.MAX_LENGTH)
    if exclude is not None:
        sessions = sessions.exclude(pk=exclude.pk)
    busy: dict = {}
    for patient_id, busy_start, busy_end in sessions.values_list("patient_id", "start", "end"):
        busy.setdefault(patient_id, []).append((busy_start, busy_end))
    return busy


@dataclass(frozen=True)
class PatientSession:
    """One of the patient's active sessions, as a booking's checks read it."""

    id: object
    start: datetime
    end: datetime
    kind: str
    status: str
    course_id: object
    time_zone: str


@dataclass
class BookingCalendar:
    calendar: Calendar
    clinician: Clinician | None
    location: Location | None
    patient_sessions: list[PatientSession]


def booking_calendar(
    *, clinician_id, location_id, patient_id, start: datetime, end: datetime, exclude=None
) -> BookingCalendar:
    """What one booking is checked against, in three queries: 1 the clinician's working hours at the
    location (the clinician and the location joined, so the booking needs no lookup of its own), 2 the
    clinician's time off and active sessions around [start, end) (one UNION), 3 the patient's active
    sessions that overlap it or are treatments (the course rules read those: interval, authorisation).
    `exclude`: the session being moved. Clinician or location None: no such row (or no hours there and
    none found on their own, the error path's two extra queries)."""
    hours_rows = list(
        WorkingHours.objects.filter(clinician_id=clinician_id, location_id=location_id).select_related(
            "clinician", "location"
        )
    )
    if hours_rows:
        clinician, location = hours_rows[0].clinician, hours_rows[0].location
    else:
        clinician = Clinician.objects.filter(pk=clinician_id).first()
        location = Location.objects.filter(pk=location_id).first()
    sessions = _patient_sessions(patient_id=patient_id, start=start, end=end, exclude=exclude)
    if clinician is None or location is None:
        return BookingCalendar(Calendar(hours={}, busy={}), clinician, location, sessions)
    rules = [slots.HoursRule(clinician.pk, h.weekday, h.start_time, h.end_time) for h in hours_rows if clinician.active]
    first, last = start.astimezone(location.zone).date(), end.astimezone(location.zone).date()
    hours = slots.expand_hours(rules=rules, start_date=first, end_date=last, tz=location.zone)
    time_off = (
        TimeOff.objects.filter(clinician_id=clinician.pk, start__lt=end, end__gt=start)
        .annotate(source=Value("off", output_field=CharField()))
        .order_by()
        .values_list("source", "start", "end")
    )
    busy = (
        Session.objects.filter(
            clinician_id=clinician.pk,
            status__in=Session.ACTIVE_STATUSES,
            start__lt=end,
            end__gt=start,
            start__gt=start - Session.MAX_LENGTH,
        )
        .exclude(pk=getattr(exclude, "pk", None))
        .annotate(source=Value("busy", output_field=CharField()))
        .order_by()
        .values_list("source", "start", "end")
    )
    off_rows, busy_rows = [], []
    for source, busy_start, busy_end in time_off.union(busy, all=True):
        (off_rows if source == "off" else busy_rows).append((busy_start, busy_end))
    patient_busy = [(p.start, p.end) for p in sessions if p.start < end and start < p.end]
    calendar = Calendar(
        hours=hours,
        busy={clinician.pk: busy_rows},
        time_off={clinician.pk: off_rows},
        patient_busy={patient_id: patient_busy},
    )
    return BookingCalendar(calendar, clinician, location, sessions)


def _patient_sessions(*, patient_id, start: datetime, end: datetime, exclude=None) -> list[PatientSession]:
    overlapping = Q(start__lt=end, end__gt=start, start__gt=start - Session.MAX_LENGTH)
    rows = (
        Session.objects.filter(overlapping | Q(kind=Session.Kind.TREATMENT), patient_id=patient_id)
        .filter(status__in=Session.ACTIVE_STATUSES)
        .exclude(pk=getattr(exclude, "pk", None))
        .order_by("start", "id")
        .values_list("id", "start", "end", "kind", "status", "course_id", "location__time_zone")
    )
    return [PatientSession(*row) for row in rows]


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
    length: timedelta | None = None,
) -> list[slots.Slot]:
    """Free slots of `length` (default: the booking policy's session length) at the locations, for local
    dates start_date..end_date inclusive (each location's own), sorted by start.

    Three queries whatever the number of sessions and locations (`availability`: working hours, time off,
    active sessions), and what the policy reads for the length unless given. A clinician busy at another
    location is busy here too. Slots that start before `now` (default: the current time) are left out.
    """
    if end_date < start_date:
        raise ValueError("end_date before start_date")
    if (end_date - start_date).days > MAX_SLOT_RANGE_DAYS:
        raise ValueError(f"at most {MAX_SLOT_RANGE_DAYS} days")
    length = length or policy.current().session_length(kind=Session.Kind.TREATMENT)
    now = now or timezone.now()
    if not locations:
        return []
    range_start = min(day_bounds(start_date, loc.zone)[0] for loc in locations)
    range_end = max(day_bounds(end_date, loc.zone)[1] for loc in locations)
    free = availability(
        location_ids=[loc.id for loc in locations], start=range_start, end=range_end, clinician=clinician
    )

    runs = []  # per clinician and location, its free slots from `now`, sorted by start
    for loc in locations:
        calendar = free.calendar(location=loc, start_date=start_date, end_date=end_date)
        for cid, hours in calendar.hours.items():
            found = slots.free_slots(hours=hours, busy=calendar.blocked(cid), length=length)
            run = [slots.Slot(cid, loc.id, start, end) for start, end in found[bisect_left(found, (now,)) :]]
            runs.append(((str(cid), str(loc.id)), run))
    # Sorted by start, then clinician and location id: the runs in id order, then a stable sort by start
    # (which merges the sorted runs rather than comparing thousands of key tuples).
    runs.sort(key=itemgetter(0))
    out = [slot for _, run in runs for slot in run]
    out.sort(key=attrgetter("start"))
    return out

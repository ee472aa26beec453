"""Reads the web pages need that no app selector covers: pre-joined, a fixed number of queries each."""

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.db.models import Case, Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.utils import timezone

from clinic.timezones import day_bounds
from cycles import selectors as cycle_selectors
from cycles.models import AdverseEvent, Course, Protocol, ReviewFlag
from notifications.models import Notification
from patients.models import Patient
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours


def locations() -> list[Location]:
    return list(Location.objects.order_by("name"))


def protocol() -> Protocol:
    return Protocol.default()


def patient(*, pk) -> Patient | None:
    return Patient.objects.filter(pk=pk).first()


def session(*, pk) -> Session | None:
    """A session with its patient, clinician and location: one query."""
    return Session.objects.select_related("patient", "clinician", "location").filter(pk=pk).first()


def flag(*, pk) -> ReviewFlag | None:
    return ReviewFlag.objects.select_related("patient").filter(pk=pk).first()


def clinician(*, pk) -> Clinician | None:
    return Clinician.objects.filter(pk=pk, active=True).first()


# --- calendar -----------------------------------------------------------------------------------


def _range(location: Location, first: date, last: date) -> tuple[datetime, datetime]:
    return day_bounds(first, location.zone)[0], day_bounds(last, location.zone)[1]


@dataclass(slots=True)
class DaySession:
    """A session as the day view shows it: its times, kind and status, the patient's name, MRN and phone (the
    printed list), its clinician, and the buttons it offers (`can`, set by the view). Plain values, no model
    instances: a busy day is hundreds of rows, each of which would be three instances."""

    id: UUID
    kind: str
    status: str
    start: datetime
    end: datetime
    patient_id: UUID
    given_name: str
    family_name: str
    mrn: str
    phone: str
    clinician_id: UUID
    clinician: Clinician  # one instance per clinician (id and name), shared by their sessions
    location: Location
    can: dict | None = None

    @property
    def patient_name(self) -> str:
        return f"{self.given_name} {self.family_name}"  # Patient.full_name


def sessions_between(*, location: Location, first: date, last: date) -> list[DaySession]:
    """Sessions starting on local dates first..last at the location, cancelled ones left out: one query."""
    rows = _shown(location, first, last).values_list(
        "id",
        "kind",
        "status",
        "start",
        "end",
        "patient_id",
        "patient__given_name",
        "patient__family_name",
        "patient__mrn",
        "patient__phone",
        "clinician_id",
        "clinician__name",
    )
    clinician = _one_per_clinician()
    return [DaySession(*values, cid, clinician(cid, name), location) for *values, cid, name in rows]


@dataclass(frozen=True, slots=True)
class WeekSession:
    """A session as the week view shows it: start, status, patient's name. Plain values, no model instance:
    a full week at a busy location is thousands of rows."""

    id: UUID
    status: str
    start: datetime
    patient_id: UUID
    patient_name: str
    clinician_id: UUID
    clinician: Clinician  # one instance per clinician (id and name), shared by their sessions


def week_sessions_between(*, location: Location, first: date, last: date) -> list[WeekSession]:
    """`sessions_between` for the week view, as plain values: one query."""
    rows = _shown(location, first, last).values_list(
        "id",
        "status",
        "start",
        "patient_id",
        "patient__given_name",
        "patient__family_name",
        "clinician_id",
        "clinician__name",
    )
    clinician = _one_per_clinician()
    return [
        WeekSession(sid, status, begins, patient_id, f"{given} {family}", cid, clinician(cid, name))
        for sid, status, begins, patient_id, given, family, cid, name in rows
    ]


def _shown(location: Location, first: date, last: date):
    """The sessions a calendar shows: starting on local dates first..last at the location, not cancelled."""
    start, end = _range(location, first, last)
    return (
        Session.objects.filter(location=location, start__gte=start, start__lt=end)
        .exclude(status=Session.Status.CANCELLED)
        .order_by("start", "id")
    )


def _one_per_clinician():
    """(id, name) -> a Clinician, one instance per id, shared by the sessions of a page."""
    made: dict = {}

    def clinician(cid, name) -> Clinician:
        if cid not in made:
            made[cid] = Clinician(id=cid, name=name)
        return made[cid]

    return clinician


def calendar_version(*, location: Location, first: date, last: date) -> str:
    """Changes whenever a session shown for local dates first..last at the location is booked, moved (in or out),
    cancelled or changes status: one query, over the window's rows only (the (location, start) index), so its
    cost follows the sessions shown, not the location's history.

    Live refresh polls this (no patient data, so nothing to audit) and reloads the grid only when it moves:
    every change saves the session (`updated_at`), and one leaving the window lowers the count.
    """
    start, end = _range(location, first, last)
    row = Session.objects.filter(location=location, start__gte=start, start__lt=end).aggregate(
        n=Count("id"), changed=Max("updated_at")
    )
    return f"{row['n']}-{row['changed'].timestamp() if row['changed'] else 0:.6f}"


def clinicians_at(*, location: Location) -> list[Clinician]:
    """Active clinicians linked to the location or with working hours there, by name: one query."""
    return list(
        Clinician.objects.filter(Q(locations=location) | Q(working_hours__location=location), active=True)
        .distinct()
        .order_by("name")
    )


def working_hours_at(*, location: Location) -> list[tuple]:
    """(clinician id, weekday, start time, end time) of every active clinician's hours there: one query."""
    return list(
        WorkingHours.objects.filter(location=location, clinician__active=True)
        .order_by("start_time")
        .values_list("clinician_id", "weekday", "start_time", "end_time")
    )


def time_off_between(*, clinician_ids, start: datetime, end: datetime) -> list[tuple]:
    """(clinician id, start, end) of leave overlapping [start, end): one query."""
    return list(
        TimeOff.objects.filter(clinician_id__in=clinician_ids, start__lt=end, end__gt=start).values_list(
            "clinician_id", "start", "end"
        )
    )


def sessions_today_by_location(*, locations: list[Location]) -> dict:
    """{location id: number of sessions (not cancelled) on its own local today}: one query."""
    if not locations:
        return {}
    bounds = Q(pk__in=[])
    now = timezone.now()
    for loc in locations:
        start, end = day_bounds(now.astimezone(loc.zone).date(), loc.zone)
        bounds |= Q(location=loc, start__gte=start, start__lt=end)
    rows = (
        Session.objects.filter(bounds)
        .exclude(status=Session.Status.CANCELLED)
        .values_list("location_id")
        .annotate(n=Count("id"))
        .values_list("location_id", "n")
    )
    return dict(rows)


def clinician_sessions_today(*, clinician: Clinician, start: datetime, end: datetime) -> list[Session]:
    return list(
        Session.objects.filter(clinician=clinician, start__gte=start, start__lt=end)
        .exclude(status=Session.Status.CANCELLED)
        .select_related("patient", "location")
        .order_by("start")
    )


# --- patients ----------------------------------------------------------------------------------


def sessions_for_patient(*, patient: Patient) -> list[Session]:
    """Every session of the patient, newest first, with clinician and location: one query."""
    return list(
        Session.objects.filter(patient=patient).select_related("clinician", "location").order_by("-start", "id")
    )


def notifications_for_patient(*, patient: Patient) -> list[Notification]:
    return list(Notification.objects.filter(patient=patient).order_by("-due_at", "id")[:100])


def home_location_for(*, patient: Patient, locations: list[Location]) -> Location | None:
    """Where the patient is treated: the location of their course's latest session (not cancelled), else of
    their latest session, else one in their own time zone. One query."""
    rows = list(
        Session.objects.filter(patient=patient)
        .exclude(status=Session.Status.CANCELLED)
        .order_by("-start")
        .values_list("location_id", "course__status")[:50]
    )
    by_id = {loc.id: loc for loc in locations}
    in_course = [loc_id for loc_id, status in rows if status == Course.Status.ACTIVE and loc_id in by_id]
    if in_course:
        return by_id[in_course[0]]
    if rows and rows[0][0] in by_id:
        return by_id[rows[0][0]]
    return next((loc for loc in locations if loc.time_zone == patient.time_zone), None)


def treatment_history(*, patient: Patient) -> list[Session]:
    """Completed treatments, newest first, each with its record, clinician, location and adverse events.
    Two queries whatever the number of cycles."""
    return list(
        Session.objects.filter(patient=patient, kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED)
        .select_related("treatment", "treatment__injector", "clinician", "location")
        .prefetch_related(Prefetch("adverse_events", queryset=AdverseEvent.objects.order_by("recorded_at")))
        .order_by("-start")
    )


def adverse_events_without_treatment(*, patient: Patient) -> list[AdverseEvent]:
    """Adverse events recorded at sessions that were not treatments (consultations, reviews)."""
    return list(
        AdverseEvent.objects.filter(patient=patient)
        .exclude(session__kind=Session.Kind.TREATMENT)
        .select_related("session", "session__location")
        .order_by("-recorded_at")
    )


def next_session_after(*, session: Session) -> Session | None:
    return (
        Session.objects.filter(
            patient_id=session.patient_id, start__gt=session.start, status__in=Session.UPCOMING_STATUSES
        )
        .select_related("location", "clinician")
        .order_by("start")
        .first()
    )


# --- review queue --------------------------------------------------------------------------------


def _course_latest(field: str) -> Subquery:
    return Subquery(
        Session.objects.filter(course_id=OuterRef("course_id"))
        .exclude(status=Session.Status.CANCELLED)
        .order_by("-start")
        .values(field)[:1]
    )


def review_queue(*, kind: str = "", clinician_id=None, location_id=None) -> list[ReviewFlag]:
    """Open flags, oldest first, with the patient and the clinician and location of the course's latest
    session (what the queue filters on): one query."""
    flags = (
        ReviewFlag.objects.filter(status=ReviewFlag.Status.OPEN)
        .select_related("patient")
        .annotate(
            clinician_id=_course_latest("clinician_id"),
            clinician_name=_course_latest("clinician__name"),
            location_id=_course_latest("location_id"),
            location_name=_course_latest("location__name"),
            location_zone=_course_latest("location__time_zone"),
        )
        .order_by("raised_at", "id")
    )
    if kind:
        flags = flags.filter(kind=kind)
    if clinician_id:
        flags = flags.filter(clinician_id=clinician_id)
    if location_id:
        flags = flags.filter(location_id=location_id)
    return list(flags)


def open_flag_counts() -> dict[str, int]:
    return dict(
        ReviewFlag.objects.filter(status=ReviewFlag.Status.OPEN)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )


def active_clinicians() -> QuerySet[Clinician]:
    return Clinician.objects.filter(active=True).order_by("name")


def course_for_page(*, patient: Patient) -> Course | None:
    """The patient's latest course (the active one first) with its protocol and dates (`cycles.selectors`)."""
    course = (
        cycle_selectors.course_list(patient=patient)
        .order_by(Case(When(status=Course.Status.ACTIVE, then=0), default=1), "-created_at")
        .first()
    )
    return cycle_selectors.course_dates(course) if course is not None else None

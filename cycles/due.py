"""Which active courses are due a treatment and have nothing booked (the due list, the sweeps).

A course's next treatment falls due from the local date of its last completed
treatment + `min_interval_days` (`due_from`) until + `interval_days` +
`window_days` (`due_by`); it is overdue once the location's today is after
`due_by`. Local dates differ per zone, so each date condition becomes one UTC
cutoff per zone in use (a clinic has a handful), all inside one query.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from clinic.timezones import day_bounds, local_date, today_in
from cycles.authorizations import authorization_states
from cycles.models import Course, Protocol, ReviewFlag
from cycles.rules import AuthorizationState, due_dates
from scheduling.models import Location, Session


def upcoming_treatments(*, course=None) -> QuerySet[Session]:
    """The treatments booked for a course (booked, confirmed or checked in, whatever their date); `course`
    defaults to the outer query's course."""
    return Session.objects.filter(
        course=OuterRef("pk") if course is None else course,
        kind=Session.Kind.TREATMENT,
        status__in=Session.UPCOMING_STATUSES,
    )


def upcoming_treatment(*, starting_before: datetime | None = None) -> Exists:
    """Annotation: the course has a treatment booked (booked, confirmed or checked in, whatever its date;
    with `starting_before`, one that starts before that instant).

    The one definition of "this course has a treatment booked": the due list, the planner, the
    "time to book" notification and the slot offers all use it.
    """
    booked = upcoming_treatments()
    if starting_before is not None:
        booked = booked.filter(start__lt=starting_before)
    return Exists(booked)


def last_treatment(field: str) -> Subquery:
    """Annotation: `field` of the course's last completed treatment."""
    return Subquery(
        Session.objects.filter(course=OuterRef("pk"), kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED)
        .order_by("-start")
        .values(field)[:1]
    )


def _open_flag(kind: str) -> Exists:
    return Exists(ReviewFlag.objects.filter(course=OuterRef("pk"), kind=kind, status=ReviewFlag.Status.OPEN))


def last_treatments() -> QuerySet[Session]:
    """Each course's last completed treatment: no later completed treatment of the same course."""
    later = Session.objects.filter(
        course=OuterRef("course_id"),
        kind=Session.Kind.TREATMENT,
        status=Session.Status.COMPLETED,
        start__gt=OuterRef("start"),
    )
    return Session.objects.filter(kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED).exclude(Exists(later))


def _before_local_day(zones: list[str], protocols: list[Protocol], day_of) -> Q:
    """A course's session that started before the local day `day_of(zone, protocol)` began, in its own
    location's zone, by its course's protocol: one condition per zone and profile in use (a handful each)."""
    condition = Q(pk__in=[])
    for zone in zones:
        for protocol in protocols:
            start, _ = day_bounds(day_of(zone, protocol), ZoneInfo(zone))
            condition |= Q(location__time_zone=zone, course__protocol_id=protocol.pk, start__lt=start)
    return condition


def courses_without_booking(
    *,
    now: datetime | None = None,
    within_days: int | None = None,
    overdue_only: bool = False,
    not_overdue: bool = False,
    exclude_failed_booking: bool = False,
) -> QuerySet[Course]:
    """Active courses with a completed treatment and no upcoming treatment session.

    Annotated with `last_treatment_start`, `last_location_id`, `last_time_zone` and
    `last_cycle` (of the last completed treatment). Every date rule is the course's
    own protocol's. Two queries to build when a date condition is asked for (the
    profiles, the zones of the locations), one to run. The date conditions are put on
    the last treatments themselves (`last_treatments`), real columns whose statistics
    PostgreSQL can use, not on the annotations.
    """
    now = now or timezone.now()
    last = last_treatments()
    if within_days is not None or overdue_only or not_overdue:
        protocols = list(Protocol.objects.only("id", "min_interval_days", "interval_days", "window_days"))
        zones = sorted(set(Location.objects.values_list("time_zone", flat=True)))
        today = {zone: local_date(now, ZoneInfo(zone)) for zone in zones}

        # overdue ⇔ last local date + interval + window < today ⇔ last began before the day (today − interval − window).
        def late(zone: str, protocol: Protocol) -> date:
            return today[zone] - timedelta(days=protocol.interval_days + protocol.window_days)

        overdue = _before_local_day(zones, protocols, late)
        if overdue_only:
            last = last.filter(overdue)
        if not_overdue:
            last = last.exclude(overdue)
        if within_days is not None:
            # due_from ≤ today + within ⇔ last local date ≤ today + within − min_interval.
            def soon(zone: str, protocol: Protocol) -> date:
                return today[zone] + timedelta(days=within_days - protocol.min_interval_days + 1)

            last = last.filter(_before_local_day(zones, protocols, soon))
    courses = (
        Course.objects.filter(status=Course.Status.ACTIVE, pk__in=last.values("course_id"))
        .annotate(
            last_treatment_start=last_treatment("start"),
            last_location_id=last_treatment("location_id"),
            last_time_zone=last_treatment("location__time_zone"),
            last_cycle=last_treatment("cycle_number"),
        )
        .exclude(upcoming_treatment())
    )
    if exclude_failed_booking:
        courses = courses.exclude(_open_flag(ReviewFlag.Kind.AUTO_BOOKING_FAILED))
    return courses


@dataclass(frozen=True)
class DueRow:
    patient_id: object
    patient_name: str
    course_id: object
    location_id: object
    last_treatment: date
    due_from: date
    due_by: date
    overdue: bool
    auto_booking_failed: bool = False
    authorization: AuthorizationState | None = None


def due_list(*, within_days: int, now: datetime | None = None) -> QuerySet[Course]:
    """The due list: courses due within `within_days` of the location's today (overdue ones included)."""
    return (
        courses_without_booking(now=now, within_days=within_days)
        .annotate(auto_booking_failed=_open_flag(ReviewFlag.Kind.AUTO_BOOKING_FAILED))
        .select_related("patient", "protocol")
        .order_by("last_treatment_start", "pk")
    )


def due_rows(courses, *, now: datetime | None = None) -> list[DueRow]:
    """`due_row` of each course (patient and protocol loaded) with its prior authorisation: ok, missing,
    expiring or not_required (two queries when any course's protocol requires authorisation, none else)."""
    courses = list(courses)
    states = authorization_states(courses, now=now)
    return [due_row(course, now=now, authorization=states[course.pk]) for course in courses]


def due_row(course: Course, *, now: datetime | None = None, authorization: AuthorizationState | None = None) -> DueRow:
    """The due dates of one course of `courses_without_booking` (protocol loaded), by its own protocol."""
    tz = ZoneInfo(course.last_time_zone)
    last = local_date(course.last_treatment_start, tz)
    due_from, due_by = due_dates(last, course.protocol)
    today = local_date(now, tz) if now else today_in(tz)
    return DueRow(
        patient_id=course.patient_id,
        patient_name=course.patient.full_name,
        course_id=course.pk,
        location_id=course.last_location_id,
        last_treatment=last,
        due_from=due_from,
        due_by=due_by,
        overdue=today > due_by,
        auto_booking_failed=bool(getattr(course, "auto_booking_failed", False)),
        authorization=authorization,
    )

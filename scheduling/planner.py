"""The next-session planner (DESIGN.md §4): book the next treatment 12 weeks on.

Pure part: `next_target` (where the next treatment should be, and its window)
and `rank_slots` (which free slot to try first). Service part: `course_plan_next`
books one course through `scheduling.services.session_book`, so every booking
rule and lock applies, and `plan_sweep` finds, set-based and in chunks, the
courses that have nothing booked.

Idempotency: a course is planned under a lock on its row (select_for_update on
PostgreSQL; BEGIN IMMEDIATE serialises writers on SQLite), and only when it has
no upcoming treatment session, so a second run or a second worker books nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from clinic.errors import DomainError
from clinic.timezones import local_date, shift_days_keep_wall_clock
from scheduling.slots import Slot

CHUNK_SIZE = 500
# A free slot can still be refused (a booking that landed a moment ago, the
# patient busy elsewhere); past this many refusals the course goes to the front desk.
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class Target:
    """Where the next treatment belongs: `start` at the same local wall-clock time, inside [due_from, due_by]."""

    start: datetime
    due_from: date
    due_by: date


def due_dates(last_treated_on: date, protocol) -> tuple[date, date]:
    """(due_from, due_by): day min_interval_days to day interval_days + window_days after the last treatment."""
    return (
        last_treated_on + timedelta(days=protocol.min_interval_days),
        last_treated_on + timedelta(days=protocol.interval_days + protocol.window_days),
    )


def next_target(last_start: datetime, tz: ZoneInfo, protocol) -> Target:
    """interval_days after `last_start` at the same local time: 09:00 stays 09:00 across a DST change."""
    due_from, due_by = due_dates(local_date(last_start, tz), protocol)
    return Target(
        start=shift_days_keep_wall_clock(last_start, protocol.interval_days, tz), due_from=due_from, due_by=due_by
    )


def rank_slots(*, slots: Iterable[Slot], target: datetime, clinician_id) -> list[Slot]:
    """The same clinician's slots first, then everyone else's; each nearest to the target, ties to the earlier."""
    # In UTC: two datetimes sharing a ZoneInfo subtract as wall-clock times, an hour off across a DST change.
    target = target.astimezone(UTC)

    def key(slot: Slot):
        start = slot.start.astimezone(UTC)
        return (slot.clinician_id != clinician_id, abs(start - target), start, str(slot.clinician_id))

    return sorted(slots, key=key)


def candidate_days(target: Target, today: date) -> tuple[date, date] | None:
    """The local dates still open for booking: the window from today on; None once it has passed."""
    first = max(target.due_from, today)
    if first > target.due_by:
        return None
    return first, target.due_by


# --- service ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    outcome: str  # booked | already_booked | failed | skipped
    session_id: str | None = None
    reason: str = ""


def course_plan_next(*, course_id, now: datetime | None = None) -> PlanResult:
    """Book the next treatment of an active course that has nothing booked.

    Tries the target (same clinician, location and local time, interval_days
    after the last treatment), then the free slots of the window nearest to it:
    the same clinician's first, then any clinician at the location. When nothing
    can be booked, opens an `auto_booking_failed` flag, so the front desk sees
    the course on the due list.
    """
    from patients import review
    from patients.models import ReviewFlag
    from scheduling import services
    from scheduling.models import Clinician, Course, Protocol, Session

    now = now or timezone.now()
    with transaction.atomic():
        course = Course.objects.select_for_update().select_related("patient").filter(pk=course_id).first()
        if course is None or course.status != Course.Status.ACTIVE:
            return PlanResult("skipped", reason="course not active")
        if course.patient.status != course.patient.Status.ACTIVE:
            return PlanResult("skipped", reason="patient paused or discharged")
        protocol = Protocol.active()
        if not protocol.auto_book:
            return PlanResult("skipped", reason="auto_book is off")
        treatments = Session.objects.filter(course=course, kind=Session.Kind.TREATMENT)
        if treatments.filter(status__in=Session.UPCOMING_STATUSES).exists():
            return PlanResult("already_booked")
        last = (
            treatments.filter(status=Session.Status.COMPLETED)
            .select_related("location", "clinician")
            .order_by("-start")
            .first()
        )
        if last is None:
            return PlanResult("skipped", reason="no treatment yet")
        location, tz = last.location, last.location.zone
        target = next_target(last.start, tz, protocol)
        days = candidate_days(target, local_date(now, tz))
        if days is None:
            return PlanResult("skipped", reason="window has passed")

        def attempt(clinician, start: datetime) -> Session | None:
            try:
                return services.session_book(
                    patient=course.patient,
                    clinician=clinician,
                    location=location,
                    start=start,
                    kind=Session.Kind.TREATMENT,
                    booked_by=None,
                    auto_booked=True,
                    course=course,
                )
            except DomainError:
                return None  # taken a moment ago, outside hours, patient busy: try the next candidate

        session = None
        if days[0] <= local_date(target.start, tz) <= days[1] and target.start >= now:
            session = attempt(last.clinician, target.start)
        if session is None:
            free = _free_slots_in_window(location=location, first=days[0], last=days[1], now=now, protocol=protocol)
            ranked = rank_slots(slots=free, target=target.start, clinician_id=last.clinician_id)[:MAX_ATTEMPTS]
            clinicians = Clinician.objects.in_bulk({s.clinician_id for s in ranked})
            for slot in ranked:
                session = attempt(clinicians[slot.clinician_id], slot.start)
                if session is not None:
                    break
        if session is not None:
            return PlanResult("booked", session_id=str(session.id))
        review.flag_open(
            course=course,
            kind=ReviewFlag.Kind.AUTO_BOOKING_FAILED,
            cycle=last.cycle_number or treatments.filter(status=Session.Status.COMPLETED).count(),
            session=last,
            details={
                "target": target.start.isoformat(),
                "due_from": target.due_from.isoformat(),
                "due_by": target.due_by.isoformat(),
                "location": str(location.id),
                "clinician": str(last.clinician_id),
            },
        )
        return PlanResult("failed", reason="no free slot in the window")


def _free_slots_in_window(*, location, first: date, last: date, now: datetime, protocol) -> list[Slot]:
    """Every clinician's free slots at the location on local dates first..last (the window is ≤ 31 days)."""
    from scheduling.selectors import MAX_SLOT_RANGE_DAYS, free_slots_for

    out: list[Slot] = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=MAX_SLOT_RANGE_DAYS))
        out += free_slots_for(location=location, start_date=start, end_date=end, now=now, protocol=protocol)
        start = end + timedelta(days=1)
    return out


def plan_candidates(*, after=None, limit: int = CHUNK_SIZE, now: datetime | None = None) -> list:
    """Ids of active courses (ordered, after `after`) with nothing booked, a treatment done, the window not passed
    and no open auto_booking_failed flag. Two queries: the zones of the locations and the courses."""
    from scheduling.due import courses_without_booking

    courses = courses_without_booking(now=now, not_overdue=True, exclude_failed_booking=True).filter(
        patient__status="active"
    )
    if after is not None:
        courses = courses.filter(pk__gt=after)
    return list(courses.order_by("pk").values_list("pk", flat=True)[:limit])


def plan_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """The daily sweep: plan every active course that has nothing booked, chunk by chunk."""
    from scheduling.models import Protocol

    counts = {"booked": 0, "failed": 0, "already_booked": 0, "skipped": 0}
    if not Protocol.active().auto_book:
        return counts
    after = None
    while True:
        ids = plan_candidates(after=after, limit=chunk_size, now=now)
        for course_id in ids:
            counts[course_plan_next(course_id=course_id, now=now).outcome] += 1
        if len(ids) < chunk_size:
            return counts
        after = ids[-1]

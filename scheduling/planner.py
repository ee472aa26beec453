"""The next-session planner (DESIGN.md §4): book the next treatment 12 weeks on.

Pure part: `next_target` (where the next treatment should be, and its window),
`rank_slots` (which free slot to try first) and `Calendar.place` (the target if
it is free, else the nearest free slot of the window). Service part:
`courses_plan` plans a batch of courses set-based, in a fixed number of queries
whatever the batch size; `course_plan_next` (after a treatment is completed) is
a batch of one, and `plan_sweep` (daily) walks every course with nothing booked
in chunks.

Safety: the batch locks its courses, then their patients, then every clinician
with hours at their locations (the lock order of every booking, see
scheduling/services.py), so no booking can slip in between reading who is busy
and inserting; the PostgreSQL exclusion constraints remain the last word. A
course is planned only when it has no upcoming treatment session, so a second
run or a second worker books nothing (it waits for the first one's locks, then
sees its sessions). On SQLite, BEGIN IMMEDIATE serialises writers.
"""

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.timezones import day_bounds, local_date, shift_days_keep_wall_clock
from scheduling import slots
from scheduling.slots import Interval, Slot

CHUNK_SIZE = 500


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


def slot_preference(*, target: datetime, clinician_id):
    """Sort key: the same clinician's slots first, then everyone else's; each nearest to the target, ties to the
    earlier."""
    # In UTC: two datetimes sharing a ZoneInfo subtract as wall-clock times, an hour off across a DST change.
    target = target.astimezone(UTC)

    def key(slot: Slot):
        start = slot.start.astimezone(UTC)
        return (slot.clinician_id != clinician_id, abs(start - target), start, str(slot.clinician_id))

    return key


def rank_slots(*, slots: Iterable[Slot], target: datetime, clinician_id) -> list[Slot]:
    """The slots in the order the planner tries them (`slot_preference`)."""
    return sorted(slots, key=slot_preference(target=target, clinician_id=clinician_id))


def candidate_days(target: Target, today: date) -> tuple[date, date] | None:
    """The local dates still open for booking: the window from today on; None once it has passed."""
    first = max(target.due_from, today)
    if first > target.due_by:
        return None
    return first, target.due_by


@dataclass
class Calendar:
    """Who is free when at one location, over the days a batch of courses may be booked.

    `hours`: each clinician's working hours there (UTC intervals); `busy`: each
    clinician's sessions anywhere and time off, then each patient's sessions.
    Placing a session marks its clinician and patient busy, so the next course of
    the batch cannot take the same time.
    """

    location_id: object
    tz: ZoneInfo
    length: timedelta
    hours: dict[object, list[Interval]]
    busy: dict[object, list[Interval]]
    patient_busy: dict[object, list[Interval]] = field(default_factory=dict)

    def _free(self, interval: Interval, clinician_id, patient_id) -> bool:
        # Plain comparisons: every interval here is in UTC (the target is converted, rows come from the database).
        start, end = interval
        busy = (*self.busy.get(clinician_id, ()), *self.patient_busy.get(patient_id, ()))
        return slots.fits_hours(start=start, end=end, hours=self.hours.get(clinician_id, ())) and not any(
            b_start < end and start < b_end for b_start, b_end in busy
        )

    def place(self, *, target: Target, clinician_id, patient_id, days: tuple[date, date], now: datetime) -> Slot | None:
        """The target if it is free, else the nearest free slot on days[0]..days[1]: the same clinician's first."""
        start = target.start.astimezone(UTC)
        interval = (start, start + self.length)
        if (
            start >= now
            and days[0] <= local_date(start, self.tz) <= days[1]
            and self._free(interval, clinician_id, patient_id)
        ):
            return self._take(Slot(clinician_id, self.location_id, *interval), patient_id)
        first, _ = day_bounds(days[0], self.tz)
        _, last = day_bounds(days[1], self.tz)
        patient_busy = self.patient_busy.get(patient_id, [])
        nearest = []  # per clinician, the free slots just before and just after the target
        for cid, hours in self.hours.items():
            free = slots.free_slots(
                hours=[h for h in hours if first <= h[0] < last],
                busy=self.busy.get(cid, []) + patient_busy,
                length=self.length,
            )  # sorted by start, in UTC
            free = free[bisect_left(free, (now,)) :]
            at = bisect_left(free, (start,))
            nearest += [Slot(cid, self.location_id, *f) for f in free[max(at - 1, 0) : at + 1]]
        if not nearest:
            return None
        return self._take(min(nearest, key=slot_preference(target=start, clinician_id=clinician_id)), patient_id)

    def _take(self, slot: Slot, patient_id) -> Slot:
        self.busy.setdefault(slot.clinician_id, []).append((slot.start, slot.end))
        self.patient_busy.setdefault(patient_id, []).append((slot.start, slot.end))
        return slot


# --- service ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    outcome: str  # booked | already_booked | failed | skipped
    session_id: str | None = None
    reason: str = ""


def course_plan_next(*, course_id, now: datetime | None = None) -> PlanResult:
    """Book the next treatment of one course (enqueued when a treatment is completed)."""
    return courses_plan(course_ids=[course_id], now=now)[course_id]


def courses_plan(*, course_ids, now: datetime | None = None, protocol=None) -> dict:
    """Book the next treatment of each active course that has nothing booked: {course id: PlanResult}.

    For each course: interval_days after its last treatment, with the same
    clinician at the same location and local time; if that is taken, outside
    hours or on leave, the free slot of the window nearest to it (the same
    clinician's first, then any clinician at the location). When nothing fits, an
    `auto_booking_failed` flag puts the course on the due list. Fourteen queries
    whatever the number of courses and locations (see tests/test_jobs.py).
    """
    from scheduling.models import Protocol

    now = now or timezone.now()
    protocol = protocol or Protocol.active()
    course_ids = list(course_ids)
    try:
        with transaction.atomic():
            return _plan(course_ids, now, protocol)
    except IntegrityError:
        # A session written without the booking locks (through the admin, say) overlaps one of the batch:
        # the exclusion constraint refused it all. One by one, only the clashing course is left for the next run.
        if len(course_ids) == 1:
            return {course_ids[0]: PlanResult("failed", reason="the slot was taken meanwhile")}
        results = {}
        for course_id in course_ids:
            results |= courses_plan(course_ids=[course_id], now=now, protocol=protocol)
        return results


def _plan(course_ids: list, now: datetime, protocol) -> dict:
    from notifications.services import sessions_booked
    from patients.models import Patient, ReviewFlag
    from patients.review import flags_open
    from scheduling.models import Clinician, Course, Location, Session, WorkingHours

    results = {course_id: PlanResult("skipped", reason="course not active") for course_id in course_ids}
    if not protocol.auto_book:
        return dict.fromkeys(course_ids, PlanResult("skipped", reason="auto_book is off"))
    # FOR NO KEY UPDATE: a booking inserting a session of the course takes FOR KEY SHARE on it while it holds
    # the patient; FOR UPDATE here would deadlock with it once this batch asks for the patient.
    courses = {
        c.pk: c
        for c in Course.objects.select_for_update(of=("self",), no_key=True)
        .select_related("patient")
        .filter(pk__in=course_ids, status=Course.Status.ACTIVE)
        .order_by("pk")
    }
    # The patients next (the booking lock order), before reading their sessions: a booking that held one
    # has committed by now, so its session is seen and the course is not booked twice.
    patient_status = dict(
        Patient.objects.select_for_update()
        .filter(pk__in={c.patient_id for c in courses.values()})
        .order_by("pk")
        .values_list("pk", "status")
    )
    treatments: dict = {}
    for session in (
        Session.objects.filter(
            course_id__in=courses,
            kind=Session.Kind.TREATMENT,
            status__in=(*Session.UPCOMING_STATUSES, Session.Status.COMPLETED),
        )
        .only("id", "course_id", "status", "start", "clinician_id", "location_id", "cycle_number")
        .order_by("start")
    ):
        treatments.setdefault(session.course_id, []).append(session)

    todo = []  # (course, last completed treatment, target, days)
    locations = Location.objects.in_bulk({s.location_id for sessions in treatments.values() for s in sessions})
    for course_id, course in courses.items():
        sessions = treatments.get(course_id, [])
        completed = [s for s in sessions if s.status == Session.Status.COMPLETED]
        if patient_status[course.patient_id] != Patient.Status.ACTIVE:
            results[course_id] = PlanResult("skipped", reason="patient paused or discharged")
        elif len(completed) < len(sessions):
            results[course_id] = PlanResult("already_booked")
        elif not completed:
            results[course_id] = PlanResult("skipped", reason="no treatment yet")
        else:
            last = completed[-1]
            last.cycle_number = last.cycle_number or len(completed)
            tz = locations[last.location_id].zone
            target = next_target(last.start, tz, protocol)
            days = candidate_days(target, local_date(now, tz))
            if days is None:
                results[course_id] = PlanResult("skipped", reason="window has passed")
            else:
                todo.append((course, last, target, days))
    if not todo:
        return results

    # Then every clinician with hours at these locations (the booking lock order: patients, clinicians).
    location_ids = {last.location_id for _, last, _, _ in todo}
    list(
        Clinician.objects.select_for_update()
        .filter(pk__in=WorkingHours.objects.filter(location_id__in=location_ids).values("clinician_id"))
        .order_by("pk")
        .values_list("pk")
    )
    calendars = _calendars(todo, locations, protocol)

    booked, failed = [], []
    for course, last, target, days in todo:
        calendar = calendars[last.location_id]
        slot = calendar.place(
            target=target, clinician_id=last.clinician_id, patient_id=course.patient_id, days=days, now=now
        )
        if slot is None:
            failed.append(
                ReviewFlag(
                    patient_id=course.patient_id,
                    course=course,
                    session=last,
                    kind=ReviewFlag.Kind.AUTO_BOOKING_FAILED,
                    cycle=last.cycle_number,
                    details={
                        "target": target.start.isoformat(),
                        "due_from": target.due_from.isoformat(),
                        "due_by": target.due_by.isoformat(),
                        "location": str(last.location_id),
                        "clinician": str(last.clinician_id),
                    },
                )
            )
            results[course.pk] = PlanResult("failed", reason="no free slot in the window")
            continue
        booked.append(
            Session(
                patient=course.patient,
                course=course,
                clinician_id=slot.clinician_id,
                location_id=slot.location_id,
                kind=Session.Kind.TREATMENT,
                start=slot.start,
                end=slot.end,
                auto_booked=True,
            )
        )
        results[course.pk] = PlanResult("booked", session_id=str(booked[-1].id))
    Session.objects.bulk_create(booked)
    sessions_booked(sessions=booked, now=now)
    flags_open(failed)
    return results


def _calendars(todo: list, locations: dict, protocol) -> dict:
    """One Calendar per location, over the local dates any of its courses may be booked on. Four queries."""
    from scheduling.models import Session
    from scheduling.selectors import availability

    spans: dict = {}  # location id -> (first, last) local date
    for _, last, _, (first, final) in todo:
        low, high = spans.get(last.location_id, (first, final))
        spans[last.location_id] = (min(low, first), max(high, final))
    start = min(day_bounds(first, locations[lid].zone)[0] for lid, (first, _) in spans.items())
    end = max(day_bounds(final, locations[lid].zone)[1] for lid, (_, final) in spans.items())
    free = availability(location_ids=list(spans), start=start, end=end)
    patient_busy: dict = {}
    for patient_id, busy_start, busy_end in Session.objects.filter(
        patient_id__in={c.patient_id for c, *_ in todo},
        status__in=Session.ACTIVE_STATUSES,
        start__lt=end,
        end__gt=start,
    ).values_list("patient_id", "start", "end"):
        patient_busy.setdefault(patient_id, []).append((busy_start, busy_end))
    calendars = {}
    for location_id, (first, final) in spans.items():
        tz = locations[location_id].zone
        hours = slots.expand_hours(rules=free.hours.get(location_id, []), start_date=first, end_date=final, tz=tz)
        calendars[location_id] = Calendar(
            location_id=location_id,
            tz=tz,
            length=timedelta(minutes=protocol.session_minutes),
            hours=hours,
            # Shared lists: a session placed at one location makes its clinician busy at the others too.
            busy=free.busy,
            patient_busy=patient_busy,
        )
    return calendars


def plan_candidates(*, after=None, limit: int = CHUNK_SIZE, now: datetime | None = None, protocol=None) -> list:
    """Ids of active courses (ordered, after `after`) with nothing booked, a treatment done, the window not passed
    and no open auto_booking_failed flag. Two queries (the zones of the locations, the courses), and the
    protocol unless given."""
    from scheduling.due import courses_without_booking

    courses = courses_without_booking(protocol=protocol, now=now, not_overdue=True, exclude_failed_booking=True).filter(
        patient__status="active"
    )
    if after is not None:
        courses = courses.filter(pk__gt=after)
    return list(courses.order_by("pk").values_list("pk", flat=True)[:limit])


def plan_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """The daily sweep: plan every active course that has nothing booked, a chunk at a time."""
    from scheduling.models import Protocol

    counts = {"booked": 0, "failed": 0, "already_booked": 0, "skipped": 0}
    protocol = Protocol.active()
    if not protocol.auto_book:
        return counts
    after = None
    while True:
        ids = plan_candidates(after=after, limit=chunk_size, now=now, protocol=protocol)
        for result in (courses_plan(course_ids=ids, now=now, protocol=protocol) if ids else {}).values():
            counts[result.outcome] += 1
        if len(ids) < chunk_size:
            return counts
        after = ids[-1]

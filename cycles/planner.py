"""The next-session planner (DESIGN.md §4): book the next treatment 12 weeks on.

The pure parts are elsewhere: where the next treatment belongs (`cycles.rules.next_target`),
which free slot to try first (`cycles.rules.slot_preference`), and the in-memory calendar
that places it (`cycles.calendar.PlannerCalendar`), which asks the same course rules
(`cycles.rules.TREATMENT_RULES`) and calendar checks as a front-desk booking.
`courses_plan` plans a batch of courses set-based, in a fixed number of queries
whatever the batch size; `course_plan_next` (after a treatment is completed) is
a batch of one, and `plan_sweep` (daily) walks every course with nothing booked
in chunks.

Safety: the batch locks its courses, then their patients, then every clinician
with hours at their locations (the lock order of every booking, see
scheduling/services/booking.py), so no booking can slip in between reading who is busy
and inserting; the PostgreSQL exclusion constraints remain the last word. A
course is planned only when it has no upcoming treatment session, so a second
run or a second worker books nothing (it waits for the first one's locks, then
sees its sessions). On SQLite, BEGIN IMMEDIATE serialises writers.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from clinic.timezones import day_bounds, local_date
from cycles import flags, rules
from cycles.booking import treatment_facts
from cycles.calendar import PlannerCalendar
from cycles.due import courses_without_booking
from cycles.models import Authorization, Course, ReviewFlag
from patients.models import Patient
from scheduling import events
from scheduling.models import Clinician, Location, Session, WorkingHours
from scheduling.selectors import availability, patients_busy

CHUNK_SIZE = 500

# --- service ------------------------------------------------------------------------------


class PlanOutcome(StrEnum):
    BOOKED = "booked"
    ALREADY_BOOKED = "already_booked"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PlanResult:
    outcome: PlanOutcome
    session_id: str | None = None
    reason: str = ""


def course_plan_next(*, course_id, now: datetime | None = None) -> PlanResult:
    """Book the next treatment of one course (enqueued when a treatment is completed)."""
    return courses_plan(course_ids=[course_id], now=now)[course_id]


def courses_plan(*, course_ids, now: datetime | None = None) -> dict:
    """Book the next treatment of each active course that has nothing booked: {course id: PlanResult}.

    For each course: interval_days after its last treatment, with the same
    clinician at the same location and local time; if that is taken, outside
    hours or on leave, the free slot of the window nearest to it (the same
    clinician's first, then any clinician at the location). When nothing fits, an
    `auto_booking_failed` flag puts the course on the due list. Every number comes
    from the course's own protocol profile; a profile with `auto_book` off is left to
    the front desk. A fixed number of queries whatever the number of courses,
    profiles and locations (see tests/test_jobs.py).
    """
    now = now or timezone.now()
    course_ids = list(course_ids)
    try:
        with transaction.atomic():
            return _plan(course_ids, now)
    except IntegrityError:
        # A session written without the booking locks (through the admin, say) overlaps one of the batch:
        # the exclusion constraint refused it all. One by one, only the clashing course is left for the next run.
        if len(course_ids) == 1:
            return {course_ids[0]: PlanResult(PlanOutcome.FAILED, reason="the slot was taken meanwhile")}
        results = {}
        for course_id in course_ids:
            results |= courses_plan(course_ids=[course_id], now=now)
        return results


def _plan(course_ids: list, now: datetime) -> dict:
    results = {course_id: PlanResult(PlanOutcome.SKIPPED, reason="course not active") for course_id in course_ids}
    # FOR NO KEY UPDATE: a booking inserting a session of the course takes FOR KEY SHARE on it while it holds
    # the patient; FOR UPDATE here would deadlock with it once this batch asks for the patient.
    courses = {
        c.pk: c
        for c in Course.objects.select_for_update(of=("self",), no_key=True)
        .select_related("patient", "protocol")
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
    # Every treatment of these patients, any course: the course's own decide what to plan, all of them
    # feed the course rules (the interval holds across courses, before and after).
    treatments: dict = {}
    # The statuses are picked here, not by the query: with them PostgreSQL takes the patient exclusion
    # constraint's partial GiST index (whose predicate they match) and, as that index leads with the time
    # range, reads all of it for each patient (9 s a chunk at 100,000 patients); without them it reads the
    # (patient, start) index. The few cancelled or missed treatments read as well are left here.
    wanted = {*Session.UPCOMING_STATUSES, Session.Status.COMPLETED}
    patient_sessions = sorted(
        (
            session
            for session in Session.objects.filter(patient_id__in=patient_status, kind=Session.Kind.TREATMENT)
            .only("id", "patient_id", "course_id", "status", "start", "clinician_id", "location_id", "cycle_number")
            .order_by()
            if session.status in wanted
        ),
        key=lambda session: session.start,
    )
    for session in patient_sessions:
        treatments.setdefault(session.course_id, []).append(session)

    todo = []  # (course, last completed treatment, target, days)
    locations = Location.objects.in_bulk({s.location_id for s in patient_sessions})
    for course_id, course in courses.items():
        sessions = treatments.get(course_id, [])
        completed = [s for s in sessions if s.status == Session.Status.COMPLETED]
        if not course.protocol.auto_book:
            results[course_id] = PlanResult(PlanOutcome.SKIPPED, reason="auto_book is off")
        elif patient_status[course.patient_id] != Patient.Status.ACTIVE:
            results[course_id] = PlanResult(PlanOutcome.SKIPPED, reason="patient paused or discharged")
        elif len(completed) < len(sessions):
            results[course_id] = PlanResult(PlanOutcome.ALREADY_BOOKED)
        elif not completed:
            results[course_id] = PlanResult(PlanOutcome.SKIPPED, reason="no treatment yet")
        else:
            last = completed[-1]
            last.cycle_number = last.cycle_number or len(completed)
            tz = locations[last.location_id].zone
            target = rules.next_target(last.start, tz, course.protocol)
            days = rules.candidate_days(target, local_date(now, tz))
            if days is None:
                results[course_id] = PlanResult(PlanOutcome.SKIPPED, reason="window has passed")
            else:
                todo.append((course, last, target, days))
    if not todo:
        return results

    treated: dict = {}
    for s in patient_sessions:
        treated_on = local_date(s.start, locations[s.location_id].zone)
        known = rules.KnownTreatment(treated_on, s.start, s.pk, s.course_id, s.status == Session.Status.COMPLETED)
        treated.setdefault(s.patient_id, []).append(known)
    # The course rules' facts (one query for the authorisations when a course needs them, none otherwise).
    facts = treatment_facts([course for course, *_ in todo], treated=treated)
    # A course that needs a payer's approval it lacks for every day of its window is left to the front
    # desk: the due list shows it with its authorisation status, and nothing is booked that would not be paid.
    unapproved = {course.pk for course, _, _, days in todo if not rules.authorization_open(facts[course.pk], *days)}
    for course_id in unapproved:
        results[course_id] = PlanResult(PlanOutcome.SKIPPED, reason="needs prior authorisation")
    todo = [entry for entry in todo if entry[0].pk not in unapproved]
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
    calendars = _calendars(todo, locations)

    booked, failed = [], []
    for course, last, target, days in todo:
        calendar = calendars[last.location_id]
        slot = calendar.place(
            target=target,
            clinician_id=last.clinician_id,
            patient_id=course.patient_id,
            days=days,
            now=now,
            length=timedelta(minutes=course.protocol.session_minutes),
            accept=_accepts(facts[course.pk], calendar.tz),
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
            results[course.pk] = PlanResult(PlanOutcome.FAILED, reason="no free slot in the window")
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
        results[course.pk] = PlanResult(PlanOutcome.BOOKED, session_id=str(booked[-1].id))
    Session.objects.bulk_create(booked)
    events.sessions_booked.send(sender=events.SessionEvent, sessions=booked, now=now)
    flags.flags_open(failed)
    return results


def _accepts(facts: rules.TreatmentFacts, tz):
    """The course rules of a front-desk booking, asked of each slot the planner considers."""

    def accept(slot) -> bool:
        proposal = rules.ProposedTreatment(start=slot.start, treated_on=local_date(slot.start, tz))
        return rules.treatment_violation(facts, proposal) is None

    return accept


def _calendars(todo: list, locations: dict) -> dict:
    """One PlannerCalendar per location, over the local dates any of its courses may be booked on. Four
    queries: working hours, time off, the clinicians' sessions, the patients' sessions."""
    spans: dict = {}  # location id -> (first, last) local date
    for _, last, _, (first, final) in todo:
        low, high = spans.get(last.location_id, (first, final))
        spans[last.location_id] = (min(low, first), max(high, final))
    start = min(day_bounds(first, locations[lid].zone)[0] for lid, (first, _) in spans.items())
    end = max(day_bounds(final, locations[lid].zone)[1] for lid, (_, final) in spans.items())
    free = availability(location_ids=list(spans), start=start, end=end)
    busy = patients_busy(patient_ids={c.patient_id for c, *_ in todo}, start=start, end=end)
    return {
        location_id: PlannerCalendar(
            location_id=location_id,
            tz=locations[location_id].zone,
            # Shared lists: a session placed at one location makes its clinician and patient busy at the others.
            calendar=free.calendar(
                location=locations[location_id], start_date=first, end_date=final, patient_busy=busy
            ),
        )
        for location_id, (first, final) in spans.items()
    }


def plan_candidates(*, after=None, limit: int = CHUNK_SIZE, now: datetime | None = None) -> list:
    """Ids of active courses (ordered, after `after`) on a profile that books automatically, with nothing
    booked, a treatment done, the window not passed and no open auto_booking_failed flag. Three queries:
    the profiles, the zones of the locations, the courses. A course whose profile requires authorisation
    needs an approval still valid (the chunk checks its dates and treatments left)."""
    now = now or timezone.now()
    # A day before today in UTC: no zone's today is earlier, so no approval still valid is missed.
    approved = Exists(
        Authorization.objects.filter(
            course=OuterRef("pk"), status=Authorization.Status.APPROVED, valid_to__gte=(now - timedelta(days=1)).date()
        )
    )
    courses = (
        courses_without_booking(now=now, not_overdue=True, exclude_failed_booking=True)
        .filter(patient__status="active", protocol__auto_book=True)
        .filter(Q(protocol__requires_authorization=False) | approved)
    )
    if after is not None:
        courses = courses.filter(pk__gt=after)
    return list(courses.order_by("pk").values_list("pk", flat=True)[:limit])


def plan_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """The daily sweep: plan every active course that has nothing booked, a chunk at a time."""
    counts = dict.fromkeys(PlanOutcome, 0)
    after = None
    while True:
        ids = plan_candidates(after=after, limit=chunk_size, now=now)
        for result in (courses_plan(course_ids=ids, now=now) if ids else {}).values():
            counts[result.outcome] += 1
        if len(ids) < chunk_size:
            return counts
        after = ids[-1]

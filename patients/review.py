"""Response review: which courses a clinician must look at, and why (DESIGN.md §2, §4).

Pure part: `course_review` turns one course's diary and treatment dates into the
flags it deserves (`no_benefit`, `missing_response_data`, `episodic_conversion`),
on top of `patients.response.response_history`.

Service part: the set-based, chunked sweeps (`responses_sweep`, `overdue_sweep`),
the per-patient review run after a diary entry or a treatment (`patient_assess`),
`flag_open` for the planner, and `review_flag_resolve`.

A flag is opened once per (course, kind, cycle): not while one is open (the
partial unique index), and not again after a clinician resolved it. A later
cycle is a new question and can flag again.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinic.errors import Conflict, ValidationFailed
from clinic.timezones import local_date
from patients import response
from patients.models import DiaryEntry, ReviewFlag

Kind = ReviewFlag.Kind
CHUNK_SIZE = 500
MISSING_DATA_LEAD_DAYS = 7  # flag missing diary data this many days before the next treatment


# --- pure -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRules:
    threshold_pct: float
    review_after_sessions: int
    interval_days: int
    episodic_max_headache_days: int
    episodic_periods: int

    @classmethod
    def of(cls, protocol) -> "ReviewRules":
        return cls(
            threshold_pct=protocol.response_threshold_pct,
            review_after_sessions=protocol.review_after_sessions,
            interval_days=protocol.interval_days,
            episodic_max_headache_days=protocol.episodic_max_headache_days,
            episodic_periods=protocol.episodic_periods,
        )


@dataclass(frozen=True)
class FlagSpec:
    kind: str
    cycle: int
    details: dict


def course_review(
    *,
    periods: Sequence[response.DiaryPeriod],
    treatments: Sequence[response.Treatment],
    today: date,
    next_treatment: date | None,
    rules: ReviewRules,
) -> list[FlagSpec]:
    """The flags one course deserves today.

    - no_benefit: the latest assessed cycle is cycle `review_after_sessions` or a
      later one and shows no benefit (a cycle with < 28 diary days is not assessed,
      so missing data never reads as no benefit);
    - missing_response_data: the next treatment (booked, or else due at last +
      interval_days) is at most 7 days away and the current cycle has no diary day;
    - episodic_conversion: the last `episodic_periods` diary periods since the first
      treatment are each below `episodic_max_headache_days` per 28 days.
    """
    if not treatments:
        return []
    ordered = sorted(treatments, key=lambda t: t.treated_on)
    history = response.response_history(
        periods=periods, treatments=ordered, today=today, threshold_pct=rules.threshold_pct
    )
    flags: list[FlagSpec] = []
    assessed = [c for c in history.cycles if c.assessment != response.Assessment.INSUFFICIENT_DATA]
    if assessed and assessed[-1].cycle >= rules.review_after_sessions:
        cycle = assessed[-1]
        if cycle.assessment == response.Assessment.NO_BENEFIT:
            flags.append(
                FlagSpec(
                    Kind.NO_BENEFIT,
                    cycle.cycle,
                    {
                        "baseline": history.baseline.headache_days_per_28,
                        "baseline_diary_days": history.baseline.diary_days,
                        "cycle_headache_days_per_28": cycle.rate.headache_days_per_28,
                        "reduction_pct": cycle.reduction_pct,
                        "threshold_pct": rules.threshold_pct,
                        "diary_days": cycle.rate.diary_days,
                        "treated_on": cycle.treated_on.isoformat(),
                    },
                )
            )
    current = history.cycles[-1]
    upcoming = next_treatment or current.treated_on + timedelta(days=rules.interval_days)
    days_away = (upcoming - today).days
    if days_away <= MISSING_DATA_LEAD_DAYS and current.rate.diary_days == 0:
        flags.append(
            FlagSpec(
                Kind.MISSING_RESPONSE_DATA,
                current.cycle,
                {
                    "treated_on": current.treated_on.isoformat(),
                    "next_treatment": upcoming.isoformat(),
                    "days_away": days_away,
                    "diary_days": 0,
                },
            )
        )
    since_start = sorted((p for p in periods if p.start >= ordered[0].treated_on), key=lambda p: p.start)
    recent = since_start[-rules.episodic_periods :] if rules.episodic_periods else []
    rates = [round(p.headache_days * response.DAYS_PER_RATE / p.days, 1) for p in recent]
    if len(recent) == rules.episodic_periods and recent and all(r < rules.episodic_max_headache_days for r in rates):
        flags.append(
            FlagSpec(
                Kind.EPISODIC_CONVERSION,
                current.cycle,
                {
                    "advice": "consider pause",
                    "max_headache_days_per_28": rules.episodic_max_headache_days,
                    "periods": [
                        {"start": p.start.isoformat(), "end": p.end.isoformat(), "headache_days_per_28": r}
                        for p, r in zip(recent, rates, strict=True)
                    ],
                },
            )
        )
    return flags


# --- writing flags --------------------------------------------------------------------------


def flags_open(flags: list[ReviewFlag]) -> int:
    """Insert the flags that no row (open or resolved) already covers. Two queries at most.

    A race with another worker is settled by the partial unique index: the insert
    skips a row that would be a second open flag.
    """
    if not flags:
        return 0
    existing = set(
        ReviewFlag.objects.filter(
            course_id__in={f.course_id for f in flags}, kind__in={f.kind for f in flags}
        ).values_list("course_id", "kind", "cycle")
    )
    fresh = [f for f in flags if (f.course_id, f.kind, f.cycle) not in existing]
    if fresh:
        ReviewFlag.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def flag_open(*, course, kind: str, cycle: int, details: dict, session=None) -> ReviewFlag | None:
    """Open one flag unless (course, kind, cycle) already has one, open or resolved; None then."""
    if ReviewFlag.objects.filter(course=course, kind=kind, cycle=cycle).exists():
        return None
    try:
        with transaction.atomic():
            return ReviewFlag.objects.create(
                patient_id=course.patient_id, course=course, session=session, kind=kind, cycle=cycle, details=details
            )
    except IntegrityError:
        return None  # another worker opened it a moment ago


# --- assessing courses, set-based -------------------------------------------------------------

REVIEW_KINDS = (Kind.NO_BENEFIT, Kind.MISSING_RESPONSE_DATA, Kind.EPISODIC_CONVERSION)


def _active_courses():
    from scheduling.models import Course

    return Course.objects.filter(status=Course.Status.ACTIVE).order_by("pk")


def courses_assess(*, courses: Iterable[dict], rules: ReviewRules, now: datetime | None = None) -> int:
    """Review a batch of courses (dicts with `pk`, `patient_id`, `patient__time_zone`) in four queries + inserts.

    1 completed treatments, 2 upcoming treatments, 3 diary periods, 4 existing flags, then the insert.
    """
    from scheduling.models import Session

    courses = list(courses)
    if not courses:
        return 0
    now = now or timezone.now()
    ids = [c["pk"] for c in courses]
    treatments: dict = defaultdict(list)
    for course_id, session_id, start, zone in (
        Session.objects.filter(course_id__in=ids, kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED)
        .order_by("start")
        .values_list("course_id", "id", "start", "location__time_zone")
    ):
        treatments[course_id].append(response.Treatment(local_date(start, ZoneInfo(zone)), session_id))
    upcoming: dict = {}
    for course_id, start, zone in (
        Session.objects.filter(course_id__in=ids, kind=Session.Kind.TREATMENT, status__in=Session.UPCOMING_STATUSES)
        .order_by("-start")
        .values_list("course_id", "start", "location__time_zone")
    ):
        upcoming[course_id] = local_date(start, ZoneInfo(zone))  # the earliest wins: ordered latest first
    periods: dict = defaultdict(list)
    for patient_id, *row in DiaryEntry.objects.filter(
        patient_id__in={c["patient_id"] for c in courses if treatments.get(c["pk"])}
    ).values_list("patient_id", "period_start", "period_end", "headache_days", "migraine_days"):
        periods[patient_id].append(response.DiaryPeriod(*row))
    flags = []
    for course in courses:
        if not treatments.get(course["pk"]):
            continue
        for spec in course_review(
            periods=periods[course["patient_id"]],
            treatments=treatments[course["pk"]],
            today=local_date(now, ZoneInfo(course["patient__time_zone"])),
            next_treatment=upcoming.get(course["pk"]),
            rules=rules,
        ):
            flags.append(
                ReviewFlag(
                    patient_id=course["patient_id"],
                    course_id=course["pk"],
                    kind=spec.kind,
                    cycle=spec.cycle,
                    details=spec.details,
                )
            )
    return flags_open(flags)


def patient_assess(*, patient_id, now: datetime | None = None) -> int:
    """Review the patient's active course (after a diary entry or a completed treatment)."""
    from scheduling.models import Protocol

    courses = _active_courses().filter(patient_id=patient_id).values("pk", "patient_id", "patient__time_zone")
    return courses_assess(courses=courses, rules=ReviewRules.of(Protocol.active()), now=now)


def responses_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """The daily review of every active course, `chunk_size` courses at a time.

    Queries: 1 protocol, then per chunk 1 courses, 2 treatments, 3 upcoming,
    4 diary, 5 existing flags, 6 insert (when there is something new).
    """
    from scheduling.models import Protocol

    rules = ReviewRules.of(Protocol.active())
    now = now or timezone.now()
    counts = {"courses": 0, "flags_opened": 0}
    after = None
    while True:
        chunk = _active_courses()
        if after is not None:
            chunk = chunk.filter(pk__gt=after)
        rows = list(chunk.values("pk", "patient_id", "patient__time_zone")[:chunk_size])
        counts["courses"] += len(rows)
        counts["flags_opened"] += courses_assess(courses=rows, rules=rules, now=now)
        if len(rows) < chunk_size:
            return counts
        after = rows[-1]["pk"]


def overdue_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """Flag every active course past its window with nothing booked, one flag per course and cycle.

    Queries: 1 protocol, 2 location zones, then per chunk 1 overdue courses,
    2 existing flags, 3 insert (when there is something new).
    """
    from scheduling.due import courses_without_booking, due_row
    from scheduling.models import Protocol

    protocol = Protocol.active()
    now = now or timezone.now()
    overdue = courses_without_booking(protocol=protocol, now=now, overdue_only=True).select_related("patient")
    counts = {"courses": 0, "flags_opened": 0}
    after = None
    while True:
        chunk = overdue.filter(pk__gt=after) if after is not None else overdue
        rows = list(chunk.order_by("pk")[:chunk_size])
        flags = []
        for course in rows:
            due = due_row(course, protocol=protocol, now=now)
            flags.append(
                ReviewFlag(
                    patient_id=course.patient_id,
                    course_id=course.pk,
                    kind=Kind.OVERDUE,
                    cycle=course.last_cycle or 0,
                    details={
                        "last_treatment": due.last_treatment.isoformat(),
                        "due_from": due.due_from.isoformat(),
                        "due_by": due.due_by.isoformat(),
                    },
                )
            )
        counts["courses"] += len(rows)
        counts["flags_opened"] += flags_open(flags)
        if len(rows) < chunk_size:
            return counts
        after = rows[-1].pk


# --- resolving ------------------------------------------------------------------------------


def review_flags(*, status: str | None = None, kind: str | None = None) -> QuerySet[ReviewFlag]:
    flags = ReviewFlag.objects.all()
    if status:
        flags = flags.filter(status=status)
    if kind:
        flags = flags.filter(kind=kind)
    return flags.order_by("-raised_at", "pk")


@transaction.atomic
def review_flag_resolve(*, flag: ReviewFlag, decision: str, note: str = "", resolved_by) -> ReviewFlag:
    """Close a flag with the clinician's decision.

    `stop` stops the course, cancels its upcoming sessions and closes the course's other open flags.

    The sessions are cancelled through `session_cancel`, so their reminders are skipped.
    """
    from scheduling import services
    from scheduling.models import Course, Session

    if decision not in ReviewFlag.Decision.values:
        message = f"One of {', '.join(ReviewFlag.Decision.values)}."
        raise ValidationFailed("Unknown decision.", fields={"decision": [message]})
    current = ReviewFlag.objects.select_for_update().get(pk=flag.pk)
    if current.status != ReviewFlag.Status.OPEN:
        raise Conflict("This flag has already been resolved.", code="invalid_transition")
    current.status = ReviewFlag.Status.RESOLVED
    current.decision = decision
    current.note = note or ""
    current.resolved_by = resolved_by
    current.resolved_at = timezone.now()
    current.save(update_fields=["status", "decision", "note", "resolved_by", "resolved_at"])
    if decision == ReviewFlag.Decision.STOP:
        course = Course.objects.select_for_update().get(pk=current.course_id)
        if course.status != Course.Status.STOPPED:
            course.status = Course.Status.STOPPED
            course.stopped_at = timezone.now()
            course.save(update_fields=["status", "stopped_at"])
        upcoming = Session.objects.filter(
            course=course, status__in=Session.UPCOMING_STATUSES, start__gte=timezone.now()
        ).order_by("start")
        for session in upcoming:
            services.session_cancel(session=session, reason="Course stopped after clinical review.", by=resolved_by)
        # A stopped course leaves the review queue: its other open flags close with the same decision.
        ReviewFlag.objects.filter(course=course, status=ReviewFlag.Status.OPEN).update(
            status=ReviewFlag.Status.RESOLVED,
            decision=ReviewFlag.Decision.STOP,
            note=f"Course stopped (flag {current.pk}).",
            resolved_by=resolved_by,
            resolved_at=current.resolved_at,
        )
    return current

"""Response review: which courses a clinician must look at, and why (DESIGN.md §2, §4).

The rule is pure (`cycles.rules.course_review`: one course's diary and treatment
dates → the flags it deserves); this module runs it set-based and chunked over
every active course (`responses_sweep`, `overdue_sweep`) and for one patient after
a diary entry or a treatment (`patient_assess`). The flags are written by
cycles/flags.py.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from clinic.timezones import local_date
from cycles.due import courses_without_booking, due_row
from cycles.flags import flags_open
from cycles.models import Course, Protocol, ReviewFlag
from cycles.rules import ReviewRules, course_review
from patients import response
from patients.models import DiaryEntry
from scheduling.models import Session

Kind = ReviewFlag.Kind
CHUNK_SIZE = 500


# --- assessing courses, set-based -------------------------------------------------------------

REVIEW_KINDS = (
    Kind.NO_BENEFIT,
    Kind.MISSING_RESPONSE_DATA,
    Kind.EPISODIC_CONVERSION,
    Kind.MEDICATION_OVERUSE,
)
COURSE_FIELDS = ("pk", "patient_id", "patient__time_zone", "protocol_id")


def _active_courses():
    return Course.objects.filter(status=Course.Status.ACTIVE).order_by("pk")


def review_rules() -> dict:
    """{protocol id: ReviewRules} of every profile (a clinic has a handful). One query."""
    return {protocol.pk: ReviewRules.of(protocol) for protocol in Protocol.objects.all()}


def courses_assess(*, courses: Iterable[dict], rules: dict, now: datetime | None = None) -> int:
    """Review a batch of courses (dicts of COURSE_FIELDS), each by its own profile's rules ({protocol id:
    ReviewRules}), in three queries + inserts.

    1 treatments (completed and upcoming), 2 diary periods, 3 existing flags, then the insert.
    """
    courses = list(courses)
    if not courses:
        return 0
    now = now or timezone.now()
    ids = [c["pk"] for c in courses]
    treatments: dict = defaultdict(list)
    upcoming: dict = {}
    for course_id, session_id, start, zone, status in (
        Session.objects.filter(
            course_id__in=ids,
            kind=Session.Kind.TREATMENT,
            status__in=(Session.Status.COMPLETED, *Session.UPCOMING_STATUSES),
        )
        .order_by("start")
        .values_list("course_id", "id", "start", "location__time_zone", "status")
    ):
        tz = ZoneInfo(zone)  # cached by zoneinfo: one instance per name
        if status == Session.Status.COMPLETED:
            treatments[course_id].append(response.Treatment(local_date(start, tz), session_id))
        elif course_id not in upcoming:  # the earliest: ordered by start
            upcoming[course_id] = local_date(start, tz)
    periods: dict = defaultdict(list)
    for patient_id, *row in DiaryEntry.objects.filter(
        patient_id__in={c["patient_id"] for c in courses if treatments.get(c["pk"])}
    ).values_list(
        "patient_id", "period_start", "period_end", "headache_days", "migraine_days", "acute_medication_days"
    ):
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
            rules=rules[course["protocol_id"]],
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
    courses = _active_courses().filter(patient_id=patient_id).values(*COURSE_FIELDS)
    return courses_assess(courses=courses, rules=review_rules(), now=now)


def responses_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """The daily review of every active course, `chunk_size` courses at a time.

    Queries: 1 the profiles, then per chunk 1 courses, 2 treatments, 3 diary,
    4 existing flags, 5 insert (when there is something new).
    """
    rules = review_rules()
    now = now or timezone.now()
    counts = {"courses": 0, "flags_opened": 0}
    after = None
    while True:
        page = _active_courses() if after is None else _active_courses().filter(pk__gt=after)
        rows = list(page.values(*COURSE_FIELDS)[:chunk_size])
        counts["courses"] += len(rows)
        counts["flags_opened"] += courses_assess(courses=rows, rules=rules, now=now)
        if len(rows) < chunk_size:
            return counts
        after = rows[-1]["pk"]


def overdue_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """Flag every active course past its window with nothing booked, one flag per course and cycle.

    Queries: 1 the profiles, 2 location zones, then per chunk 1 overdue courses (their protocol
    joined), 2 existing flags, 3 insert (when there is something new).
    """
    now = now or timezone.now()
    overdue = courses_without_booking(now=now, overdue_only=True).select_related("patient", "protocol")
    counts = {"courses": 0, "flags_opened": 0}
    after = None
    while True:
        chunk = overdue.filter(pk__gt=after) if after is not None else overdue
        rows = list(chunk.order_by("pk")[:chunk_size])
        flags = []
        for course in rows:
            due = due_row(course, now=now)
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

"""Must show 2 at the row level: jobs racing each other on one database create nothing twice.

Real threads, each with its own connection, released together by a barrier (the
two-worker test in test_jobs_workers.py does the same with real processes, but
cannot choose who meets whom). On PostgreSQL the planner's lock on the course
and the partial unique index on open flags settle the race; on SQLite BEGIN
IMMEDIATE serialises the writers.
"""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from cycles import planner, review
from cycles.models import Protocol, ReviewFlag
from notifications.models import ReminderPolicy
from scheduling.models import Session
from tests.cycle import at, clinic, no_benefit_course, treated_course
from tests.factories import ReviewFlagFactory

THREADS = 8
NOW = datetime(2027, 1, 5, 20, tzinfo=UTC)  # 15:00 in New York
TODAY = date(2027, 1, 5)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def race(job: Callable[[], object], threads: int = THREADS) -> list:
    """Run `job` in `threads` threads released at once; each closes its own connection."""
    # Rows created lazily on first use must exist before the race, or creating them serialises it by accident.
    Protocol.default()
    ReminderPolicy.current()
    barrier = threading.Barrier(threads)

    def one(_):
        try:
            barrier.wait(timeout=60)
            return job()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))


@pytest.mark.slow
def test_planners_racing_for_one_course_book_it_once(transactional_db, now):
    location, (lee, _) = clinic()
    course = treated_course(location=location, clinician=lee, treated_on=[TODAY])
    outcomes = race(lambda: planner.course_plan_next(course_id=course.pk).outcome)
    assert Counter(outcomes) == {"booked": 1, "already_booked": THREADS - 1}
    [session] = Session.objects.filter(course=course, status=Session.Status.BOOKED)
    assert (session.start, session.clinician_id) == (at(TODAY + timedelta(days=84), 9), lee.pk)


@pytest.mark.slow
def test_planning_sweeps_racing_book_each_course_once(transactional_db, now):
    location, staff = clinic(clinicians=3)
    courses = [
        treated_course(location=location, clinician=staff[i % 3], treated_on=[TODAY], hour=9 + i) for i in range(6)
    ]
    race(planner.plan_sweep, threads=4)
    booked = Counter(Session.objects.filter(status=Session.Status.BOOKED).values_list("course_id", flat=True))
    assert booked == {course.pk: 1 for course in courses}


def _no_benefit_courses(location, n: int) -> list:
    """n courses whose third cycle shows no benefit (16 against 20) and that are overdue for nothing else."""
    return [no_benefit_course(location=location, today=TODAY, next_hour=9 + i, next_in_days=40) for i in range(n)]


@pytest.mark.slow
def test_review_sweeps_racing_open_one_flag_per_course(transactional_db, now):
    location, _ = clinic(clinicians=1)
    courses = _no_benefit_courses(location, 4)
    race(review.responses_sweep)
    flags = list(ReviewFlag.objects.values_list("course_id", "kind", "cycle", "status"))
    assert sorted(flags) == sorted((course.pk, "no_benefit", 3, "open") for course in courses)


@pytest.mark.slow
def test_overdue_sweeps_racing_open_one_flag_per_course(transactional_db, now):
    location, (lee, _) = clinic()
    courses = [
        treated_course(location=location, clinician=lee, treated_on=[TODAY - timedelta(days=120)], hour=9 + i)
        for i in range(4)
    ]
    race(review.overdue_sweep)
    flags = list(ReviewFlag.objects.values_list("course_id", "kind", "cycle"))
    assert sorted(flags) == sorted((course.pk, "overdue", 1) for course in courses)


# --- the database, not only Python, keeps one open flag per (course, kind, cycle) ----------------------


def test_the_database_refuses_a_second_open_flag_for_the_same_course_kind_and_cycle(db):
    flag = ReviewFlagFactory(kind="no_benefit", cycle=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFlag.objects.create(patient=flag.patient, course=flag.course, kind="no_benefit", cycle=3)
    # Another kind, another cycle, or beside a resolved flag: allowed.
    ReviewFlag.objects.create(patient=flag.patient, course=flag.course, kind="missing_response_data", cycle=3)
    ReviewFlag.objects.create(patient=flag.patient, course=flag.course, kind="no_benefit", cycle=4)
    ReviewFlag.objects.filter(pk=flag.pk).update(status="resolved")
    ReviewFlag.objects.create(patient=flag.patient, course=flag.course, kind="no_benefit", cycle=3)
    assert ReviewFlag.objects.filter(course=flag.course, kind="no_benefit", cycle=3).count() == 2


def test_an_insert_that_lost_the_race_is_skipped_by_the_index(db):
    # What a sweep does when another worker opened the flag after it looked: the insert skips the row.
    flag = ReviewFlagFactory(kind="overdue", cycle=1)
    late = ReviewFlag(patient=flag.patient, course=flag.course, kind="overdue", cycle=1)
    ReviewFlag.objects.bulk_create([late], ignore_conflicts=True)
    assert ReviewFlag.objects.filter(course=flag.course).count() == 1

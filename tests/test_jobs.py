"""The periodic jobs: registered, scheduled, run by `run_jobs`, idempotent, and constant in queries."""

import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.celery import PERIODIC_JOBS
from clinic.celery import app as celery_app
from cycles import authorizations, planner, review
from cycles.models import Authorization, Course, Protocol, ReviewFlag
from notifications.models import ReminderPolicy
from scheduling.models import Session
from tests.cycle import at, clinic, diary, no_benefit_course, treated_course
from tests.factories import ClinicianFactory, LocationFactory, SessionFactory

MY_JOBS = ("scheduling.plan_next_sessions", "patients.assess_responses", "scheduling.flag_overdue")
NOW = datetime(2027, 1, 5, 20, tzinfo=UTC)  # 15:00 in New York
TODAY = date(2027, 1, 5)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_every_periodic_job_is_a_registered_task_and_on_the_beat_schedule():
    celery_app.loader.import_default_modules()
    for name in MY_JOBS:
        assert name in PERIODIC_JOBS
    for name, options in PERIODIC_JOBS.items():
        assert name in celery_app.tasks, f"{name} is scheduled but no task has that name"
        assert celery_app.conf.beat_schedule[name]["task"] == name
        assert celery_app.conf.beat_schedule[name]["schedule"] == options["schedule"]


def test_the_celery_settings_suit_idempotent_tasks():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    for name in (*MY_JOBS, "scheduling.treatment_completed", "patients.assess_patient"):
        assert celery_app.tasks[name].acks_late is True


# --- a clinic with work for every job ---------------------------------------------------------------


def population(location, n: int, *, work: bool = True) -> None:
    """n patients whose courses need nothing (booked, responding); with `work`, three more per job."""
    base = date(2026, 6, 1)
    for i in range(n):
        clinician = ClinicianFactory(locations=[location])
        course = treated_course(location=location, clinician=clinician, treated_on=[base, base + timedelta(days=84)])
        # Responding (18 per 28 against 28: −36 %) yet still chronic (≥ 15): nothing to flag.
        diary(course.patient, base - timedelta(days=84), [28, 28, 28])
        diary(course.patient, base, [18, 18, 18, 18, 18])
        SessionFactory(
            patient=course.patient,
            course=course,
            clinician=clinician,
            location=location,
            start=at(TODAY, 9) + timedelta(days=40 + i % 10),
        )
    if not work:
        return
    for i in range(3):
        clinician = ClinicianFactory(locations=[location])
        # to plan: treated last week
        treated_course(location=location, clinician=clinician, treated_on=[TODAY - timedelta(days=7)], hour=10 + i)
        # overdue: treated 120 days ago, nothing booked
        treated_course(location=location, clinician=clinician, treated_on=[TODAY - timedelta(days=120)], hour=10 + i)
        # no benefit in the third cycle (the next one is booked, so the planner leaves it)
        no_benefit_course(location=location, today=TODAY, hour=12 + i)


@pytest.fixture
def location(db):
    location, _ = clinic(clinicians=1)
    return location


def snapshot():
    sessions = sorted(Session.objects.filter(status="booked").values_list("course_id", "start"))
    flags = sorted(ReviewFlag.objects.values_list("course_id", "kind", "cycle", "status"))
    return sessions, flags


def test_run_jobs_runs_every_job_once_in_order_and_says_what_it_did(location):
    population(location, 2)
    out = StringIO()
    call_command("run_jobs", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [*PERIODIC_JOBS, "delivered"]
    assert '"booked": 3' in lines[0]
    sessions, flags = snapshot()
    kinds = [kind for _, kind, _, _ in flags]
    assert kinds.count("no_benefit") == 3
    assert kinds.count("overdue") == 3
    assert kinds.count("missing_response_data") == 3  # the overdue ones have no diary since their treatment
    assert len(kinds) == 9
    assert len(sessions) == 2 + 3 + 3


def test_run_jobs_twice_creates_nothing_twice(location):
    population(location, 3)
    call_command("run_jobs", stdout=StringIO())
    first = snapshot()
    call_command("run_jobs", stdout=StringIO())
    assert snapshot() == first
    assert len(first[0]) == len({course for course, _ in first[0]})  # one booked treatment per course


def test_run_jobs_refuses_an_unknown_job(db):
    with pytest.raises(CommandError, match="Not a periodic job"):
        call_command("run_jobs", "--only", "scheduling.nope", stdout=StringIO())


def test_run_jobs_fails_loudly_on_a_scheduled_name_that_is_no_task(db, monkeypatch):
    monkeypatch.setitem(PERIODIC_JOBS, "scheduling.no_such_job", {"schedule": 60.0})
    with pytest.raises(CommandError, match="no task has that name"):
        call_command("run_jobs", stdout=StringIO())


def test_the_completion_task_copes_with_a_vanished_session(db):
    from cycles.tasks import treatment_completed

    assert treatment_completed.delay("7d1b6f1c-8d4a-4a8e-9b7e-0c6f7d1f2a3b").get()["outcome"] == "skipped"


def test_run_jobs_only_runs_the_jobs_named(location):
    population(location, 1)
    out = StringIO()
    call_command("run_jobs", "--only", "scheduling.flag_overdue", stdout=out)
    assert out.getvalue().startswith("scheduling.flag_overdue:")
    assert set(ReviewFlag.objects.values_list("kind", flat=True)) == {"overdue"}


# --- queries do not grow with patients ------------------------------------------------------------


def count_queries(func) -> int:
    with CaptureQueriesContext(connection) as queries:
        func()
    return len(queries)


@pytest.mark.parametrize("n", [10, 200])
def test_the_review_sweep_takes_the_same_queries_for_10_and_200_patients(location, n, django_assert_num_queries):
    population(location, n)
    # 1 protocol profiles; per chunk: 2 active courses, 3 their treatments (completed and upcoming), 4 diary,
    # 5 existing flags, 6 insert of the six new flags (3 no_benefit, 3 missing_response_data)
    with django_assert_num_queries(6):
        assert review.responses_sweep() == {"courses": n + 9, "flags_opened": 6}


@pytest.mark.parametrize("n", [10, 200])
def test_the_overdue_sweep_takes_the_same_queries_for_10_and_200_patients(location, n, django_assert_num_queries):
    population(location, n)
    # 1 protocol profiles, 2 location zones, 3 overdue courses with patients and protocols, 4 existing flags, 5 insert
    with django_assert_num_queries(5):
        assert review.overdue_sweep() == {"courses": 3, "flags_opened": 3}


# The planning sweep, whatever the number of patients and of courses it books: 1 protocol profiles, 2 location
# zones, 3 courses with nothing booked; then per chunk: 4 savepoint, 5 course locks with their protocols,
# 6 patient locks, 7 the patients' treatments,
# 8 locations, 9 clinician locks, 10 working hours, 11 time off, 12 clinicians' sessions, 13 patients' sessions,
# 14 insert of the sessions, 15 insert of the notifications, 16 release. (The reminder policy the notifications
# follow comes from the process's cache, read when the population was booked: notifications.models.)
PLAN_SWEEP_QUERIES = 16


@pytest.mark.parametrize("n", [10, 200])
def test_the_planning_sweep_takes_the_same_queries_for_10_and_200_patients(location, n, django_assert_num_queries):
    population(location, n)
    ReminderPolicy.current()  # the notifications policy row exists in a running clinic
    with django_assert_num_queries(PLAN_SWEEP_QUERIES):
        assert planner.plan_sweep() == {"booked": 3, "failed": 0, "already_booked": 0, "skipped": 0}


# (12 bookings make 48 notifications: one insert even on SQLite, which splits a statement past 999 variables.)
@pytest.mark.parametrize("due", [3, 12, pytest.param(60, marks=pytest.mark.postgres)])
def test_the_planning_sweep_takes_the_same_queries_however_many_it_books(location, due, django_assert_num_queries):
    ReminderPolicy.current()
    clinicians = [ClinicianFactory(locations=[location]) for _ in range(4)]
    for i in range(due):
        treated_course(
            location=location,
            clinician=clinicians[i % 4],
            treated_on=[TODAY - timedelta(days=1 + i // 16)],
            hour=9 + i // 4 % 4,
        )
    with django_assert_num_queries(PLAN_SWEEP_QUERIES):
        assert planner.plan_sweep() == {"booked": due, "failed": 0, "already_booked": 0, "skipped": 0}
    assert Session.objects.filter(auto_booked=True).count() == due


@pytest.mark.parametrize("scale", [1, 3])
def test_planning_across_zones_with_failures_takes_the_same_queries_at_any_scale(
    location, scale, django_assert_num_queries
):
    """New York books 3 × scale courses; London, where nobody works, fails scale courses: still one batch."""
    ReminderPolicy.current()
    london = LocationFactory(name="London Bridge", time_zone="Europe/London")
    colleague = ClinicianFactory(locations=[location, london])
    for i in range(3 * scale):
        treated_course(location=location, clinician=colleague, treated_on=[TODAY - timedelta(days=2)], hour=9 + i)
    for i in range(scale):
        treated_course(location=london, clinician=colleague, treated_on=[TODAY - timedelta(days=3)], hour=9 + i)
    # The sweep's queries, and 2 for the auto_booking_failed flags: 18 the existing flags, 19 their insert.
    with django_assert_num_queries(PLAN_SWEEP_QUERIES + 2):
        assert planner.plan_sweep() == {"booked": 3 * scale, "failed": scale, "already_booked": 0, "skipped": 0}
    assert ReviewFlag.objects.filter(kind="auto_booking_failed").count() == scale


def population_all_flagged(location, n: int) -> None:
    """n courses that each deserve a no_benefit flag (third cycle at 16 against 20), the next one booked."""
    for i in range(n):
        no_benefit_course(location=location, today=TODAY, next_hour=9 + i % 8)


@pytest.mark.postgres
@pytest.mark.parametrize("n", [10, 200])
def test_on_postgresql_flagging_every_patient_takes_the_same_queries_for_10_and_200(
    location, n, django_assert_num_queries
):
    # (SQLite caps a statement at 999 variables, so Django splits a 200-row insert there; PostgreSQL does not.)
    population_all_flagged(location, n)
    # 1 protocol profiles; 2 active courses, 3 their treatments (completed and upcoming), 4 diary, 5 existing flags,
    # 6 one insert of all n flags
    with django_assert_num_queries(6):
        assert review.responses_sweep() == {"courses": n, "flags_opened": n}


def test_planning_one_course_takes_the_sweeps_chunk_queries(location):
    population(location, 0)
    ReminderPolicy.current()
    ids = planner.plan_candidates()
    # The chunk's 14 (PLAN_SWEEP_QUERIES less the sweep's profiles, zones and candidates): each course's
    # protocol comes with the course.
    counts = {count_queries(lambda cid=cid: planner.course_plan_next(course_id=cid)) for cid in ids}
    assert counts == {PLAN_SWEEP_QUERIES - 3}


def course_pages(sweep, size: int) -> tuple[dict, int]:
    """Run a sweep `size` courses at a time: its result and how many pages of courses it read."""
    with CaptureQueriesContext(connection) as queries:
        result = sweep(chunk_size=size)
    pages = [
        q
        for q in queries.captured_queries
        if 'FROM "cycles_course"' in q["sql"] and re.search(rf"\bLIMIT {size}\b", q["sql"])
    ]
    return result, len(pages)


def test_sweeps_work_in_chunks_and_see_every_course(location):
    population(location, 12)
    # 21 active courses: 5 + 5 + 5 + 5 + 1
    assert course_pages(review.responses_sweep, 5) == ({"courses": 21, "flags_opened": 6}, 5)
    # 3 overdue courses: 2 + 1
    assert course_pages(review.overdue_sweep, 2) == ({"courses": 3, "flags_opened": 3}, 2)
    # 3 courses with nothing booked: 2 + 1
    booked = {"booked": 3, "failed": 0, "already_booked": 0, "skipped": 0}
    assert course_pages(planner.plan_sweep, 2) == (booked, 2)
    # Once done, every sweep reads one short page and changes nothing.
    assert course_pages(review.responses_sweep, 50) == ({"courses": 21, "flags_opened": 0}, 1)
    assert course_pages(review.overdue_sweep, 2) == ({"courses": 3, "flags_opened": 0}, 2)
    assert course_pages(planner.plan_sweep, 2) == ({**booked, "booked": 0}, 1)


def three_profiles() -> None:
    """Spread the courses over the default profile and two payers' (NICE TA260, a US payer)."""
    nice = Protocol.objects.create(name="NICE TA260", min_failed_preventives=3, review_after_sessions=2)
    us = Protocol.objects.create(name="US payer", response_threshold_pct=50, response_metric="migraine_days")
    default = Protocol.default()
    for index, course in enumerate(Course.objects.order_by("pk")):
        Course.objects.filter(pk=course.pk).update(protocol=(default, nice, us)[index % 3])


@pytest.mark.parametrize("n", [10, 200])
def test_every_sweep_takes_the_same_queries_with_courses_on_three_profiles(location, n, django_assert_num_queries):
    population(location, n)
    three_profiles()
    ReminderPolicy.current()
    # The same pins as with one profile: the profiles are read once per sweep, with the courses or up front.
    with django_assert_num_queries(6):
        assert review.responses_sweep()["courses"] == n + 9
    with django_assert_num_queries(5):
        assert review.overdue_sweep()["courses"] == 3
    with django_assert_num_queries(PLAN_SWEEP_QUERIES):
        assert planner.plan_sweep()["booked"] == 3


# --- prior authorisation: the planner and the expiring job -----------------------------------------------


def on_a_us_payer(courses=None) -> Protocol:
    """Move the courses (all when None) onto a payer profile that requires authorisation."""
    us = Protocol.objects.create(name="US payer", requires_authorization=True, response_threshold_pct=50)
    (Course.objects.all() if courses is None else Course.objects.filter(pk__in=[c.pk for c in courses])).update(
        protocol=us
    )
    return us


def approve_all(courses, **fields) -> None:
    fields = {"valid_from": TODAY - timedelta(days=400), "valid_to": TODAY + timedelta(days=400), **fields}
    Authorization.objects.bulk_create(
        Authorization(
            course=course,
            payer="Aetna",
            reference=f"PA-{index}",
            status=Authorization.Status.APPROVED,
            treatments_approved=fields.get("treatments", 10),
            valid_from=fields["valid_from"],
            valid_to=fields["valid_to"],
        )
        for index, course in enumerate(courses)
    )


# The planning sweep with courses whose profile requires authorisation: PLAN_SWEEP_QUERIES and one more per
# chunk, the chunk's authorisations (read with the course rules' facts after 8 locations, before 9 the
# clinician locks). A chunk with no such course makes no such query.
PLAN_SWEEP_QUERIES_WITH_AUTHORIZATION = PLAN_SWEEP_QUERIES + 1


@pytest.mark.parametrize("n", [10, 200])
def test_the_planning_sweep_over_courses_needing_authorisation_takes_the_same_queries_for_10_and_200(
    location, n, django_assert_num_queries
):
    population(location, n)
    on_a_us_payer()
    approve_all(Course.objects.all())
    # Three more due to plan without any approval: not even candidates, left to the due list.
    unapproved = [
        treated_course(
            location=location, clinician=ClinicianFactory(locations=[location]), treated_on=[TODAY - timedelta(days=5)]
        )
        for _ in range(3)
    ]
    on_a_us_payer(unapproved)
    ReminderPolicy.current()
    with django_assert_num_queries(PLAN_SWEEP_QUERIES_WITH_AUTHORIZATION):
        assert planner.plan_sweep() == {"booked": 3, "failed": 0, "already_booked": 0, "skipped": 0}
    assert not Session.objects.filter(course__in=unapproved, status="booked").exists()


@pytest.mark.parametrize("n", [10, 200])
def test_a_chunk_skipping_n_courses_without_approval_takes_the_same_queries_for_10_and_200(
    location, n, django_assert_num_queries
):
    ReminderPolicy.current()
    lee = ClinicianFactory(locations=[location])
    unapproved = [
        treated_course(
            location=location, clinician=lee, treated_on=[TODAY - timedelta(days=1 + i % 40)], hour=9 + i // 40
        )
        for i in range(n)
    ]
    approved = [
        treated_course(
            location=location, clinician=ClinicianFactory(locations=[location]), treated_on=[TODAY - timedelta(days=2)]
        )
        for _ in range(3)
    ]
    on_a_us_payer()
    approve_all(approved)
    ids = [c.pk for c in unapproved + approved]
    # The chunk's 14 (PLAN_SWEEP_QUERIES less the sweep's profiles, zones and candidates) and its authorisations;
    # the n courses without one are skipped before the clinicians are locked.
    with django_assert_num_queries(PLAN_SWEEP_QUERIES_WITH_AUTHORIZATION - 3):
        results = planner.courses_plan(course_ids=ids)
    outcomes = [results[c.pk] for c in unapproved]
    assert {(r.outcome, r.reason) for r in outcomes} == {(planner.PlanOutcome.SKIPPED, "needs prior authorisation")}
    assert {results[c.pk].outcome for c in approved} == {planner.PlanOutcome.BOOKED}


def approvals_to_sweep(location, n: int) -> None:
    """n courses treated last month with an approval that has room and time (nothing to mark), three whose
    approval ends in ten days (to mark), three marked though renewed since (to clear)."""
    lee = ClinicianFactory(locations=[location])
    courses = [
        treated_course(
            location=location, clinician=lee, treated_on=[TODAY - timedelta(days=20 + i % 50)], hour=9 + i // 50
        )
        for i in range(n + 6)
    ]
    on_a_us_payer()
    approve_all(courses[:n], valid_from=TODAY - timedelta(days=90), valid_to=TODAY + timedelta(days=150))
    approve_all(courses[n : n + 3], valid_from=TODAY - timedelta(days=170), valid_to=TODAY + timedelta(days=10))
    approve_all(courses[n + 3 :], valid_from=TODAY - timedelta(days=90), valid_to=TODAY + timedelta(days=150))
    Authorization.objects.filter(course__in=courses[n + 3 :]).update(expiring=True, expiring_since=NOW)


@pytest.mark.parametrize("n", [10, 200])
def test_the_expiring_job_takes_the_same_queries_for_10_and_200_courses_and_a_second_run_does_nothing(
    location, n, django_assert_num_queries
):
    approvals_to_sweep(location, n)
    # 1 approvals still valid or marked, with course, patient and protocol; 2 the patients' treatments;
    # 3 mark the three expiring; 4 clear the three renewed
    with django_assert_num_queries(4):
        assert authorizations.expiring_sweep() == {"authorizations": n + 6, "marked": 3, "cleared": 3}
    assert Authorization.objects.filter(expiring=True).count() == 3
    # Once done: the same two reads, no write.
    with django_assert_num_queries(2):
        assert authorizations.expiring_sweep() == {"authorizations": n + 6, "marked": 0, "cleared": 0}


def test_the_expiring_job_works_in_chunks_and_sees_every_approval(location):
    approvals_to_sweep(location, 12)
    with CaptureQueriesContext(connection) as queries:
        assert authorizations.expiring_sweep(chunk_size=5) == {"authorizations": 18, "marked": 3, "cleared": 3}
    pages = [
        q
        for q in queries.captured_queries
        if 'FROM "cycles_authorization"' in q["sql"] and re.search(r"\bLIMIT 5\b", q["sql"])
    ]
    assert len(pages) == 4  # 5 + 5 + 5 + 3

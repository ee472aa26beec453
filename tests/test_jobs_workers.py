"""Must show 2, with real processes: two workers running every sweep at the same time create nothing twice."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.db import connection
from django.utils import timezone

from clinic.celery import app as celery_app
from clinic.timezones import local_date
from cycles import tasks
from cycles.models import ReviewFlag
from notifications.models import Notification
from notifications.tasks import deliver
from scheduling.models import Session
from tests.cycle import NEW_YORK, clinic, no_benefit_course, treated_course
from tests.factories import PatientFactory
from tests.workers import running_worker, wait_for


@pytest.fixture(autouse=True)
def _broker_of_this_run(monkeypatch, settings):
    """Send to the run's broker even if an earlier test left another URL in the app's conf, and a connection
    pool to it (tests/clinic/test_healthz.py sets the env var before patching the conf, so its undo keeps the
    bad URL)."""
    monkeypatch.setattr(celery_app.conf, "broker_url", settings.CELERY_BROKER_URL)
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)


JOBS = (tasks.plan_next_sessions, tasks.assess_responses, tasks.flag_overdue)


def _clinic_with_work():
    """In real time (the workers' clock): 6 courses to plan, 3 with no benefit, 2 overdue."""
    today = local_date(timezone.now(), NEW_YORK)
    location, (lee, patel) = clinic()
    to_plan = [
        treated_course(
            location=location, clinician=(lee, patel)[i % 2], treated_on=[today - timedelta(days=7)], hour=9 + i
        )
        for i in range(6)
    ]
    no_benefit = [no_benefit_course(location=location, today=today, hour=9 + i, next_in_days=50) for i in range(3)]
    overdue = [
        treated_course(location=location, clinician=lee, treated_on=[today - timedelta(days=130)], hour=14 + i)
        for i in range(2)
    ]
    return to_plan, no_benefit, overdue


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_every_sweep_twice_at_once_book_and_flag_each_course_once():
    to_plan, no_benefit, overdue = _clinic_with_work()
    with running_worker(concurrency=2) as first, running_worker(concurrency=2) as second:
        sent = []
        for _ in range(2):
            for job in JOBS:
                for worker in (first, second):
                    sent.append((worker, job.apply_async(queue=worker.queue).id))

        def all_done() -> bool:
            return all(any(f"[{task_id}] succeeded" in line for line in worker.output) for worker, task_id in sent)

        assert wait_for(all_done, timeout=180), "".join(first.output[-30:] + second.output[-30:])

    booked = Session.objects.filter(status=Session.Status.BOOKED, kind=Session.Kind.TREATMENT)
    for course in to_plan:
        assert booked.filter(course=course).count() == 1
    for course in no_benefit:
        assert booked.filter(course=course).count() == 1  # the one booked in the setup
    for course in overdue:
        assert not booked.filter(course=course).exists()  # past the window: the front desk's call
    # No two active sessions of one clinician overlap (SQLite has no exclusion constraint to say so).
    rows = sorted(
        Session.objects.filter(status__in=Session.ACTIVE_STATUSES).values_list("clinician_id", "start", "end")
    )
    for (c1, _, end1), (c2, start2, _) in pairwise(rows):
        assert c1 != c2 or start2 >= end1
    flags = list(ReviewFlag.objects.values_list("course_id", "kind", "cycle"))
    assert len(flags) == len(set(flags))
    assert (
        sorted((kind, cycle) for course, kind, cycle in flags if course in {c.pk for c in no_benefit})
        == [("no_benefit", 3)] * 3
    )
    assert sorted(kind for course, kind, _ in flags if course in {c.pk for c in overdue}) == [
        "missing_response_data",
        "missing_response_data",
        "overdue",
        "overdue",
    ]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_keeps_its_database_connection_across_tasks(tmp_path):
    """Celery's Django fixup would close it after every task; the worker keeps it (clinic/celery.py)."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_stat_activity tells which backends a worker holds")
    patients = [PatientFactory(time_zone="Etc/GMT") for _ in range(3)]
    rows = [
        Notification.objects.create(
            patient=p, purpose="diary_request", channel="email", due_at=timezone.now(), dedupe_key=f"conn:{i}"
        )
        for i, p in enumerate(patients)
    ]

    def worker_backends() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return {pid for (pid,) in cursor.fetchall()}

    env = {"EMAIL_BACKEND": "file", "EMAIL_FILE_PATH": str(tmp_path)}
    seen = []
    with running_worker(extra_env=env, concurrency=1) as worker:
        for row in rows:
            task_id = deliver.apply_async((str(row.id),), queue=worker.queue).id
            assert wait_for(lambda t=task_id: any(f"[{t}] succeeded" in line for line in worker.output), timeout=60)
            seen.append(worker_backends())
    assert Notification.objects.filter(status="sent").count() == 3
    assert len(seen[0]) == 1, seen  # the connection outlives the task that opened it...
    assert seen[0] == seen[1] == seen[2]  # ...and the next tasks use it

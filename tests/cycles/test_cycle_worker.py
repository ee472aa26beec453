"""Must show 1: with a real Celery worker, completing a treatment books the next one 84 days later at the
same local time across a DST change.

The worker runs in real time, so the treatment is dated in a future January (EST) and the next one falls
on the far side of the March change (EDT). Marked `redis` for the Redis broker; the twin below runs the
same flow on whatever broker the run has (the filesystem transport by default).
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from clinic.celery import app as celery_app
from cycles import treatments
from scheduling.models import Session
from tests.cycle import STANDARD_TREATMENT, at, clinic
from tests.factories import SessionFactory, UserFactory
from tests.workers import running_worker, wait_for


@pytest.fixture(autouse=True)
def _broker_of_this_run(monkeypatch, settings):
    """Send to the run's broker even if an earlier test left another URL in the app's conf, and a connection
    pool to it (tests/clinic/test_healthz.py sets the env var before patching the conf, so its undo keeps the
    bad URL)."""
    monkeypatch.setattr(celery_app.conf, "broker_url", settings.CELERY_BROKER_URL)
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)


def _complete_and_wait_for_the_next_booking():
    year = timezone.now().year + 2
    treated_on = date(year, 1, 5)
    next_day = treated_on + timedelta(days=84)  # 30 March (29 in a leap year), after the second Sunday of March
    location, (lee, _) = clinic()
    session = SessionFactory(clinician=lee, location=location, start=at(treated_on, 9), status="checked_in")
    clinician = UserFactory(role="clinician")
    with running_worker() as worker:
        treatments.session_complete(
            session=session,
            treatment={**STANDARD_TREATMENT, "lot_expiry": date(year + 1, 1, 1)},
            adverse_events=[],
            notes="",
            by=clinician,
        )  # autocommit: the task is sent on commit, to the worker's queue
        booked = Session.objects.filter(course=session.course, status=Session.Status.BOOKED)
        assert wait_for(booked.exists, timeout=60), "".join(worker.output[-40:])
        # The task finishes (plans, then reviews the patient) before the worker stops.
        assert wait_for(
            lambda: any("scheduling.treatment_completed" in line and "succeeded" in line for line in worker.output)
        )
    [next_session] = booked
    assert next_session.start == at(next_day, 9)
    assert at(treated_on, 9).astimezone(UTC).hour == 14  # EST
    assert next_session.start.astimezone(UTC) == datetime(year, next_day.month, next_day.day, 13, tzinfo=UTC)  # EDT
    assert (next_session.clinician_id, next_session.location_id, next_session.auto_booked) == (
        lee.pk,
        location.pk,
        True,
    )


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_on_redis_a_real_worker_books_the_next_session_84_days_later_at_the_same_local_time_across_dst():
    _complete_and_wait_for_the_next_booking()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_on_the_runs_broker_a_real_worker_books_the_next_session_across_dst(settings):
    if settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("covered by the Redis test above")
    _complete_and_wait_for_the_next_booking()

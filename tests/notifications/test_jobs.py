"""The queueing job's own rows: "time to book your next appointment" and the diary request."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from cycles.models import Course
from notifications import services
from notifications.models import Notification, ReminderPolicy
from notifications.services import queueing
from scheduling.models import Session
from tests.factories import CourseFactory, PatientFactory, SessionFactory
from tests.notifications.conftest import at

pytestmark = pytest.mark.django_db


def treated(patient, location, day: date, *, hour: int = 10):
    course = Course.objects.filter(patient=patient, status="active").first() or CourseFactory(patient=patient)
    return SessionFactory(
        patient=patient,
        course=course,
        location=location,
        kind=Session.Kind.TREATMENT,
        status=Session.Status.COMPLETED,
        start=at(day, hour, tz=location.time_zone),
    )


def test_next_session_due_goes_to_a_due_course_with_nothing_booked(now, location, run_jobs):
    due = PatientFactory(given_name="Dana", time_zone="Europe/London")
    treated(due, location, date(2026, 12, 1))  # + 84 days = 23 Feb 2027 ≤ 1 March
    not_yet = PatientFactory()
    treated(not_yet, location, date(2027, 1, 1))  # due 26 March
    booked = PatientFactory()
    treated(booked, location, date(2026, 12, 1))
    SessionFactory(patient=booked, course=booked.courses.get(), location=location, start=at(date(2027, 3, 10), 10))

    result = run_jobs()
    assert result.next_session_due == 1
    row = Notification.objects.get(purpose="next_session_due")
    assert (row.patient, row.status, row.channel) == (due, "sent", "email")
    assert [m.to for m in mail.outbox if m.subject.endswith("Time to book your next appointment")] == [[due.email]]

    assert run_jobs().next_session_due == 0  # once per last treatment
    assert Notification.objects.filter(purpose="next_session_due").count() == 1


def test_the_due_date_is_the_local_date_of_the_last_treatment(location, run_jobs):
    """Tokyo: 08:00 local on 7 Dec is 23:00 UTC on 6 Dec; due on 1 March local, not 28 Feb."""
    import time_machine

    from tests.factories import LocationFactory

    tokyo = LocationFactory(name="Tokyo", time_zone="Asia/Tokyo")
    patient = PatientFactory(time_zone="Asia/Tokyo")
    treated(patient, tokyo, date(2026, 12, 7), hour=8)
    with time_machine.travel(at(date(2027, 2, 28), 23, 0, tz="Asia/Tokyo"), tick=False):
        assert services.notifications_queue().next_session_due == 0
    with time_machine.travel(at(date(2027, 3, 1), 9, 0, tz="Asia/Tokyo"), tick=False):
        assert services.notifications_queue().next_session_due == 1


def test_next_session_due_is_skipped_if_a_treatment_is_booked_before_it_goes(now, location):
    patient = PatientFactory()
    treated(patient, location, date(2026, 12, 1))
    services.notifications_queue()
    SessionFactory(patient=patient, course=patient.courses.get(), location=location, start=at(date(2027, 3, 10), 10))
    row = Notification.objects.get(purpose="next_session_due")
    assert services.notification_deliver(notification_id=row.id) == "skip:already_booked"


def test_a_diary_request_goes_every_28_days_with_a_diary_link(now, location, run_jobs):
    patient = PatientFactory(given_name="Omar", time_zone="Europe/London")
    CourseFactory(patient=patient)
    PatientFactory()  # no course: no diary request

    assert run_jobs().diary_requests == 1
    (sent,) = mail.outbox
    assert sent.to == [patient.email] and "/p/diary/" in sent.body
    now.shift(timedelta(days=27))
    assert run_jobs().diary_requests == 0
    now.shift(timedelta(days=1, minutes=1))
    assert run_jobs().diary_requests == 1
    assert Notification.objects.filter(purpose="diary_request", status="sent").count() == 2


def test_the_diary_interval_is_a_policy_setting(now, location):
    policy = ReminderPolicy.current()
    policy.diary_every_days = 0
    policy.save()
    CourseFactory(patient=PatientFactory())
    assert services.notifications_queue().diary_requests == 0


def test_run_jobs_runs_the_queueing_job(now, capsys):
    call_command("run_jobs", only=["notifications.queue"])
    assert "notifications.queue:" in capsys.readouterr().out


def test_the_queue_job_enqueues_every_due_row_once_across_chunks_with_tied_due_times(
    now, patient, monkeypatch, django_capture_on_commit_callbacks
):
    """The enqueue walks the (status, due_at) index a chunk after the last one's (due_at, id): rows that share
    a due time across a chunk boundary are each enqueued once, none skipped; a second run enqueues none."""
    monkeypatch.setattr(queueing, "CHUNK", 3)
    now = timezone.now()
    tied = now - timedelta(minutes=5)
    due_times = [tied] * 7 + [now - timedelta(hours=1), now - timedelta(days=2), now]
    for n, due_at in enumerate(due_times):
        Notification.objects.create(
            patient=patient, purpose="diary_request", channel="email", due_at=due_at, dedupe_key=f"tied:{n}"
        )
    Notification.objects.create(  # not due yet: left alone
        patient=patient, purpose="diary_request", channel="email", due_at=now + timedelta(minutes=1), dedupe_key="later"
    )
    monkeypatch.setattr(queueing, "enqueue_on_commit", lambda ids: enqueued.extend(ids))
    enqueued: list = []
    with django_capture_on_commit_callbacks(execute=False):
        assert services.notifications_queue().enqueued == len(due_times)
    assert sorted(map(str, enqueued)) == sorted(
        str(i) for i in Notification.objects.filter(due_at__lte=now).values_list("id", flat=True)
    )
    assert Notification.objects.filter(enqueued_at__isnull=True).count() == 1  # the one not due
    with django_capture_on_commit_callbacks(execute=False):
        assert services.notifications_queue().enqueued == 0

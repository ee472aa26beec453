"""Patient links: an expiry a forged future date cannot stretch, no action once the session has started,
and every link action and diary post in the audit log with the link as the actor."""

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from clinic.models import AuditLog
from notifications import links
from notifications.models import Notification, PatientLink
from patients.models import DiaryEntry
from scheduling.models import Session
from tests.notifications.conftest import at, book

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(now, patient, clinician, location):
    return book(patient, clinician, location, at(date(2027, 3, 15), 10))


@pytest.fixture
def link_row(session):
    return PatientLink.objects.create(key="k3yABC", kind="session", patient=session.patient, session=session)


def url(link: PatientLink) -> str:
    return f"/p/{links.sign(link)}/"


def test_a_link_signed_ten_years_ahead_is_refused_and_acts_on_nothing(link_row, session):
    with time_machine.travel(timezone.now() + timedelta(days=3650), tick=False):
        forged = url(link_row)  # as anyone holding the signing key could make it
    assert Client().get(forged).status_code == 404
    assert Client().post(forged, {"action": "cancel"}).status_code == 404
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED
    assert PatientLink.objects.get(pk=link_row.pk).used_at is None


def test_a_fresh_signature_on_a_link_older_than_the_maximum_age_is_expired(link_row, settings, now):
    now.shift(timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS + 1))
    response = Client().get(url(link_row))  # signed just now, but the link itself is too old
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_a_link_expires_its_maximum_age_after_signing(link_row, settings, now):
    token = url(link_row)
    now.shift(timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS) - timedelta(minutes=1))
    assert Client().get(token).status_code == 200
    now.shift(timedelta(minutes=2))
    assert Client().get(token).status_code == 410


def test_a_link_cannot_cancel_a_session_that_has_started(link_row, session, now):
    now.move_to(session.start + timedelta(minutes=5))
    response = Client().post(url(link_row), {"action": "cancel"})
    assert response.status_code == 410
    assert "already started" in response.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED
    assert PatientLink.objects.get(pk=link_row.pk).used_at is None


def test_a_link_cannot_confirm_a_session_at_its_start_either(link_row, session, now):
    now.move_to(session.start)
    assert Client().post(url(link_row), {"action": "confirm"}).status_code == 410
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_a_link_action_is_audited_with_the_link_as_the_actor(link_row, session):
    assert Client().post(url(link_row), {"action": "cancel"}).status_code == 200
    row = AuditLog.objects.get(action=AuditLog.Action.UPDATE)
    assert (row.user, row.actor, row.patient_id, row.resource) == (
        None,
        f"patient link {link_row.pk}",
        session.patient_id,
        "session",
    )
    assert row.object_id == str(session.id)
    assert "cancel" in row.detail


def test_opening_a_link_is_audited_as_a_read_by_the_link(link_row, session):
    Client().get(url(link_row))
    row = AuditLog.objects.get()
    assert (row.action, row.actor, row.patient_id) == ("read", f"patient link {link_row.pk}", session.patient_id)


def test_a_patient_diary_post_is_audited_with_the_link_as_the_actor(now, patient):
    notification = Notification.objects.create(
        patient=patient, purpose="diary_request", channel="email", due_at=timezone.now(), dedupe_key="diary:9"
    )
    link = links.link_for_notification(notification=notification)
    data = {
        "period_start": "2027-02-01",
        "period_end": "2027-02-28",
        "headache_days": "12",
        "migraine_days": "6",
        "acute_medication_days": "4",
    }
    assert Client().post(f"/p/diary/{links.sign(link)}/", data).status_code == 200
    entry = DiaryEntry.objects.get(patient=patient)
    row = AuditLog.objects.get(action=AuditLog.Action.CREATE)
    assert (row.resource, row.object_id, row.patient_id, row.actor, row.user) == (
        "diary",
        str(entry.id),
        patient.id,
        f"patient link {link.pk}",
        None,
    )


def test_a_diary_post_dated_9999_is_a_form_error(now, patient):
    notification = Notification.objects.create(
        patient=patient, purpose="diary_request", channel="email", due_at=timezone.now(), dedupe_key="diary:10"
    )
    link = links.link_for_notification(notification=notification)
    data = {"period_start": "9999-12-01", "period_end": "9999-12-28", "headache_days": "1", "migraine_days": "0"}
    assert Client().post(f"/p/diary/{links.sign(link)}/", data).status_code == 400
    assert not DiaryEntry.objects.exists()

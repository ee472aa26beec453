"""Must show 7: signed patient links. GET shows, POST acts once; used or expired → 410; bound to one session."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import Client

from notifications import links, services
from notifications.models import Notification, PatientLink
from patients.models import DiaryEntry
from scheduling.models import Session
from tests.notifications.conftest import at, book

pytestmark = pytest.mark.django_db


def emailed_link(row: Notification) -> str:
    assert services.notification_deliver(notification_id=row.id) == "sent"
    body = mail.outbox[-1].body
    url = re.search(r"https://cycledesk\.example\.org(/p/\S+/)", body).group(1)
    return url


@pytest.fixture
def session(now, patient, clinician, location):
    return book(patient, clinician, location, at(date(2027, 3, 15), 10))


@pytest.fixture
def link(session):
    return emailed_link(Notification.objects.get(session=session, purpose="booking_confirmation"))


def csrf_client(url: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client, token


def test_get_shows_the_session_and_changes_nothing(link, session):
    response = Client().get(link)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Monday 15 March 2027" in page and "10:00" in page and "Riverside" in page
    assert 'name="csrfmiddlewaretoken"' in page and 'value="confirm"' in page and 'value="cancel"' in page
    assert Client().get(link).status_code == 200  # still usable: a GET is not a use
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_confirm_acts_once_and_the_link_is_then_gone(link, session):
    client, csrf = csrf_client(link)
    response = client.post(link, {"action": "confirm", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert "Confirmed" in response.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.CONFIRMED

    assert client.get(link).status_code == 410
    again = client.post(link, {"action": "cancel", "csrfmiddlewaretoken": csrf})
    assert again.status_code == 410
    session.refresh_from_db()
    assert session.status == Session.Status.CONFIRMED


def test_a_post_without_the_csrf_token_is_refused(link, session):
    response = Client(enforce_csrf_checks=True).post(link, {"action": "confirm"})
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_cancel_through_the_link_cancels_the_session_and_skips_its_reminders(link, session):
    response = Client().post(link, {"action": "cancel"})
    assert response.status_code == 200
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert set(
        Notification.objects.filter(session=session, purpose="reminder").values_list("status", "skip_reason")
    ) == {("skipped", "session_cancelled")}
    assert Notification.objects.filter(session=session, purpose="cancellation", status="pending").exists()


def test_an_expired_link_is_gone(link, session, now, settings):
    settings.PATIENT_LINK_MAX_AGE_DAYS = 30
    now.shift(timedelta(days=30, seconds=1))
    assert Client().get(link).status_code == 410
    assert Client().post(link, {"action": "confirm"}).status_code == 410
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_a_link_for_one_session_cannot_act_on_another(link, session, patient, clinician, location):
    other = book(patient, clinician, location, at(date(2027, 3, 16), 10))
    other_link = PatientLink.objects.create(key="other01", kind="session", patient=patient, session=other)

    # The form names the other session: refused, nothing changes, the link stays unused.
    response = Client().post(link, {"action": "cancel", "session": str(other.id)})
    assert response.status_code == 400
    # The other link's key under this link's signature: not a token we signed.
    key = link.strip("/").split("/")[-1].split(":")[0]
    forged = link.replace(f"{key}:", f"{other_link.key}:")
    assert Client().post(forged, {"action": "cancel"}).status_code == 404

    session.refresh_from_db()
    other.refresh_from_db()
    assert (session.status, other.status) == (Session.Status.BOOKED, Session.Status.BOOKED)
    assert Client().get(link).status_code == 200


def test_a_link_on_a_session_that_can_no_longer_change_answers_409_and_stays_unused(link, session):
    from scheduling.services import session_cancel

    session_cancel(session=session, reason="clinic closed", by=None)
    response = Client().post(link, {"action": "confirm"})
    assert response.status_code == 409
    assert PatientLink.objects.filter(used_at__isnull=True).count() == 1


def test_a_token_that_was_never_signed_is_not_found(db):
    assert Client().get("/p/nothing:here:atall/").status_code == 404
    assert Client().get("/p/diary/nothing:here:atall/").status_code == 404


def test_a_bad_action_is_a_400(link, session):
    assert Client().post(link, {"action": "explode"}).status_code == 400
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


# --- the diary link ------------------------------------------------------------------------------


@pytest.fixture
def diary_link(now, patient):
    row = Notification.objects.create(
        patient=patient, purpose="diary_request", channel="email", due_at=now_utc(), dedupe_key="diary:1"
    )
    return emailed_link(row)


def now_utc():
    from django.utils import timezone

    return timezone.now()


def test_the_diary_link_records_an_entry_with_source_patient_once(
    diary_link, patient, django_capture_on_commit_callbacks
):
    assert "/p/diary/" in diary_link
    page = Client().get(diary_link)
    assert page.status_code == 200
    assert 'name="headache_days"' in page.content.decode()

    data = {
        "period_start": "2027-02-01",
        "period_end": "2027-02-28",
        "headache_days": "12",
        "migraine_days": "6",
        "acute_medication_days": "4",
    }
    with django_capture_on_commit_callbacks() as callbacks:
        response = Client().post(diary_link, data)
    assert response.status_code == 200
    entry = DiaryEntry.objects.get(patient=patient)
    assert (entry.source, entry.headache_days, entry.migraine_days, entry.recorded_by) == ("patient", 12, 6, None)
    assert len(callbacks) >= 1  # the response review is enqueued after commit

    assert Client().post(diary_link, data).status_code == 410
    assert DiaryEntry.objects.filter(patient=patient).count() == 1


def test_bad_diary_input_shows_inline_errors_and_keeps_the_link(diary_link, patient):
    bad = {
        "period_start": "2027-02-01",
        "period_end": "2027-02-28",
        "headache_days": "5",
        "migraine_days": "9",
        "acute_medication_days": "0",
    }
    response = Client().post(diary_link, bad)
    assert response.status_code == 400
    assert "Migraine days cannot exceed headache days." in response.content.decode()

    too_long = {**bad, "period_end": "2027-04-01", "migraine_days": "1"}
    assert Client().post(diary_link, too_long).status_code == 400
    assert DiaryEntry.objects.count() == 0
    assert Client().get(diary_link).status_code == 200


def test_a_session_token_does_not_open_the_diary_page(link):
    token = link.strip("/").split("/")[-1]
    assert Client().get(f"/p/diary/{token}/").status_code == 404


def test_links_resolve_only_with_our_signature(link):
    token = link.strip("/").split("/")[-1]
    assert links.resolve(token, kind="session").kind == "session"
    with pytest.raises(links.LinkInvalid):
        links.resolve(token[:-1] + ("A" if token[-1] != "A" else "B"), kind="session")

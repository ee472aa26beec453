"""Must show 5: every template rendered with realistic data carries no clinical word, and every SMS fits."""

import re
from datetime import UTC, date, datetime

import pytest
from django.core import mail

from notifications import rendering, services
from notifications.models import Notification
from notifications.rendering import SMS_MAX, SMS_OPT_OUT
from tests.factories import PatientFactory, SessionFactory, SlotOfferFactory
from tests.notifications.conftest import at

pytestmark = pytest.mark.django_db

FORBIDDEN = ("botox", "onabotulinum", "migraine", "headache", "units", "dose", "injection", "diagnosis")
FIRST_NAMES = ["Ann", "Alexandra", "Bartholomew", "Mary-Jane", "Zoë", "Ngozi", "Maximilian-Alexander"]
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo"]


def clinical_words(text: str) -> list[str]:
    lowered = text.lower()
    return [word for word in FORBIDDEN if word in lowered]


@pytest.fixture
def realistic(settings):
    settings.CLINIC_NAME = "Riverside Neurology Clinic"
    settings.SITE_URL = "https://cycledesk.riverside-health.example.org"


def rows_for_every_purpose(first_name: str, zone: str) -> list[Notification]:
    patient = PatientFactory(given_name=first_name, time_zone=zone, phone="+12125550100", sms_opt_in=True)
    location_zone = zone
    session = SessionFactory(
        course=None,
        patient=patient,
        location__name=f"Riverside {zone.split('/')[-1].replace('_', ' ')}",
        location__time_zone=location_zone,
        start=at(date(2027, 3, 28), 9, 45, tz=location_zone),  # the night London changes to summer time
    )
    # A slot offer's session is the cancelled one whose slot it offers (another patient's), and taking it
    # moves the patient's later appointment: the longest offer there is.
    freed = SessionFactory(
        course=None,
        location=session.location,
        start=at(date(2027, 3, 16), 9, tz=location_zone),
        status="cancelled",
    )
    SlotOfferFactory(freed_slot__session=freed, patient=patient, moves=session)
    made = []
    for purpose in Notification.Purpose.values:
        about = freed if purpose == "slot_offer" else session if purpose in rendering.SESSION_PURPOSES else None
        for channel in Notification.Channel.values:
            made.append(
                Notification.objects.create(
                    patient=patient,
                    session=about,
                    session_start=about.start if about else None,
                    purpose=purpose,
                    channel=channel,
                    offset_days=1 if purpose == "reminder" else 0,
                    due_at=datetime(2027, 3, 1, tzinfo=UTC),
                    dedupe_key=f"{patient.id}:{purpose}:{channel}",
                )
            )
    return made


@pytest.mark.parametrize("zone", ZONES)
def test_no_body_holds_a_clinical_word_and_every_sms_fits_160_characters(realistic, zone):
    checked = 0
    for first_name in FIRST_NAMES:
        for n in rows_for_every_purpose(first_name, zone):
            link = rendering.link_url_for(n)
            if n.channel == "email":
                message = rendering.render_email(n, link_url=link)
                parts = [message.subject, message.text, message.html] + [a[1].decode() for a in message.attachments]
                for part in parts:
                    assert clinical_words(part) == [], (n.purpose, part)
                assert first_name in message.text and "Riverside Neurology Clinic" in message.text
                if link:
                    assert link in message.text and link in message.html
            else:
                body = rendering.render_sms(n, link_url=link).body
                assert clinical_words(body) == [], (n.purpose, body)
                assert len(body) <= SMS_MAX, (n.purpose, len(body), body)
                assert body.endswith(SMS_OPT_OUT)
                if link and n.purpose != "cancellation":
                    assert link in body, body
            checked += 1
    assert checked == len(FIRST_NAMES) * len(Notification.Purpose.values) * 2


def test_the_forbidden_word_check_does_catch_a_clinical_word():
    assert clinical_words("Your Botox injection: 155 units") == ["botox", "units", "injection"]


def test_an_sms_shows_the_local_date_and_time_of_the_location(realistic):
    (n,) = [
        r for r in rows_for_every_purpose("Ann", "America/New_York") if (r.purpose, r.channel) == ("reminder", "sms")
    ]
    body = rendering.render_sms(n, link_url=rendering.link_url_for(n)).body
    assert re.search(r"Sun 28 Mar 09:45", body), body
    assert body.startswith("Hi Ann, ")


def test_a_delivered_email_has_text_html_and_a_calendar_part(now, patient, location, clinician):
    session = SessionFactory(
        course=None, patient=patient, clinician=clinician, location=location, start=at(date(2027, 3, 5), 10)
    )
    services.session_changed(session=session, event="booked")
    row = Notification.objects.get(session=session, purpose="booking_confirmation")
    assert services.notification_deliver(notification_id=row.id) == "sent"
    (sent,) = mail.outbox
    assert sent.to == [patient.email]
    assert "Friday 5 March 2027 at 10:00" in sent.body
    assert [mimetype for _, mimetype in sent.alternatives] == ["text/html"]
    assert [(name, mimetype) for name, _, mimetype in sent.attachments] == [("appointment.ics", "text/calendar")]

"""Slot offers as messages and links: no clinical detail, quiet hours, the SMS caps, the notice period, and the
/p/<token>/ page where the first accept wins (API.md, Slot offers; DESIGN.md §5).

The clinic is in New York (tests/offers.py), as are its patients; the freed slot is Wednesday 10 March 2027
09:00 with Dr Adams.
"""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client

from cycles.models import FreedSlot, Protocol, SlotOffer
from notifications import services
from notifications.channels import sms
from notifications.models import Notification, PatientLink
from notifications.rendering import SMS_MAX, SMS_OPT_OUT
from scheduling.models import Session
from tests.notifications.conftest import sms_to
from tests.notifications.test_templates import clinical_words
from tests.offers import NOW, SLOT_DAY, booked, cancel, clinic, due_patient, ny, slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def manhattan(db):
    # The front desk books by hand: run_jobs' planner would otherwise book the due patients first.
    Protocol.objects.filter(pk=Protocol.default().pk).update(auto_book=False)
    return clinic()


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def offer_emails() -> list:
    return [m for m in mail.outbox if "appointment is free" in m.subject]


def link_in(text: str) -> str:
    return re.search(r"https://cycledesk\.example\.org(/p/\S+/)", text).group(1)


def run_offer_jobs():
    """run_jobs as cron runs it, its offer job only (the queue job's diary and 'time to book' messages
    would share the SMS caps), then what is due is delivered in this process."""
    call_command("run_jobs", "--only", "cycles.slot_offers", stdout=open("/dev/null", "w"))  # noqa: SIM115


# --- the messages ------------------------------------------------------------------------------


def test_an_offer_says_when_and_where_with_a_link_and_no_clinical_detail(manhattan, capture):
    location, (adams, baker) = manhattan
    with time_machine.travel(NOW, tick=False):
        due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
        due_patient(location, baker, last=date(2026, 12, 7), given_name="Bartholomew", email_opt_in=False)
        cancel(slot(adams, location), capture)
    (email,) = offer_emails()
    assert email.subject == "Riverside Clinic: An earlier appointment is free on Wed 10 Mar 09:00"
    assert "A 9:00 appointment on Wednesday 10 March 2027 has opened at Manhattan West" in email.body
    html = email.alternatives[0][0]
    assert link_in(email.body) in html and not email.attachments  # nothing booked yet: no calendar file
    (text,) = sms_to(Notification.objects.get(purpose="slot_offer", channel="sms").patient.phone)
    body = text["body"]
    # The long name is cut and the clinic's and location's names left out to fit.
    assert body.startswith("Hi Bartholo, a 9:00 appt on Wed 10 Mar has opened. Tap to take it: https://")
    assert link_in(body) and body.endswith(SMS_OPT_OUT)
    assert len(body) <= SMS_MAX
    for part in (email.subject, email.body, html, body):
        assert clinical_words(part) == [], part


def test_an_offer_that_moves_a_later_appointment_says_so(manhattan, capture):
    location, (adams, baker) = manhattan
    with time_machine.travel(NOW, tick=False):
        dee = due_patient(location, baker, last=date(2026, 12, 10), given_name="Dee")
        booked(dee, baker, location, ny(date(2027, 3, 17), 11))
        cancel(slot(adams, location), capture)
    (email,) = offer_emails()
    assert "Taking it moves your appointment on Wednesday 17 March 2027 to this time." in email.body
    with time_machine.travel(NOW, tick=False):  # a link signed in the future is no link of ours
        page = Client().get(link_in(email.body)).content.decode()
    assert "Taking it moves your appointment on Wednesday 17 March 2027 at 11:00 to this time." in page


# --- quiet hours, caps and the notice period ----------------------------------------------------------


def test_a_cancellation_at_22_00_sends_its_offers_at_08_00(manhattan, capture):
    location, (adams, baker) = manhattan
    with time_machine.travel(ny(date(2027, 3, 1), 22), tick=False) as clock:
        due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
        bea = due_patient(location, baker, last=date(2026, 12, 7), given_name="Bea", email_opt_in=False)
        due_patient(location, baker, last=date(2026, 12, 10), given_name="Cal")
        cancel(slot(adams, location), capture)
        rows = Notification.objects.filter(purpose="slot_offer")
        assert rows.count() == 3 and offer_emails() == [] and sms.outbox == []
        # Held, not dropped: pending until 08:00 in the patients' zone.
        assert set(rows.values_list("status", "due_at")) == {("pending", ny(date(2027, 3, 2), 8))}
        clock.move_to(ny(date(2027, 3, 2), 7, 59))
        run_offer_jobs()
        assert offer_emails() == [] and sms.outbox == []
        clock.move_to(ny(date(2027, 3, 2), 8))
        run_offer_jobs()
    assert len(offer_emails()) == 2
    assert len(sms_to(bea.patient.phone)) == 1
    assert set(rows.values_list("status", flat=True)) == {"sent"}


def test_an_offer_whose_slot_starts_within_the_notice_period_by_morning_is_never_sent(manhattan, capture):
    location, (adams, baker) = manhattan
    with time_machine.travel(ny(date(2027, 3, 1), 22), tick=False) as clock:
        due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
        early = slot(adams, location, start=ny(date(2027, 3, 3), 7, 30))  # 33½ hours' notice at 22:00
        cancel(early, capture)
        (row,) = Notification.objects.filter(purpose="slot_offer")
        assert row.due_at == ny(date(2027, 3, 2), 8)  # by when the slot is 23½ hours away
        clock.move_to(ny(date(2027, 3, 2), 8))
        run_offer_jobs()
    row.refresh_from_db()
    assert (row.status, row.skip_reason) == ("skipped", "offer_expired")
    assert SlotOffer.objects.get().status == "expired"
    assert offer_emails() == []


def test_delivery_alone_refuses_an_offer_within_the_notice_period(manhattan, capture):
    """With a worker and no sweep yet: the send-time check holds the rule by itself."""
    location, (adams, baker) = manhattan
    with time_machine.travel(ny(date(2027, 3, 1), 22), tick=False) as clock:
        due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
        cancel(slot(adams, location, start=ny(date(2027, 3, 3), 7, 30)), capture)
        clock.move_to(ny(date(2027, 3, 2), 8))
        services.deliver_due()
    row = Notification.objects.get(purpose="slot_offer")
    assert (row.status, row.skip_reason) == ("skipped", "within_notice")
    assert offer_emails() == [] and SlotOffer.objects.get().status == "offered"


def test_the_sms_caps_hold_an_offer_like_any_message(manhattan, capture):
    location, (adams, baker) = manhattan
    with time_machine.travel(NOW, tick=False) as clock:
        bea = due_patient(location, baker, last=date(2026, 12, 7), given_name="Bea", email_opt_in=False)
        Notification.objects.create(
            patient=bea.patient,
            purpose="diary_request",
            channel="sms",
            due_at=NOW,
            status="sent",
            sent_at=NOW - timedelta(hours=1),
            dedupe_key="earlier-sms",
        )
        cancel(slot(adams, location), capture)
        (row,) = Notification.objects.filter(purpose="slot_offer")
        assert (row.status, row.due_at) == ("pending", ny(date(2027, 3, 2), 8))  # one SMS a day, then quiet hours
        assert sms_to(bea.patient.phone) == []
        clock.move_to(ny(date(2027, 3, 2), 8))
        run_offer_jobs()
    assert len(sms_to(bea.patient.phone)) == 1


def test_an_offer_taken_before_it_is_sent_is_not_sent(manhattan, capture):
    from cycles import offers

    location, (adams, baker) = manhattan
    with time_machine.travel(ny(date(2027, 3, 1), 22), tick=False) as clock:
        due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
        due_patient(location, baker, last=date(2026, 12, 7), given_name="Bea")
        cancel(slot(adams, location), capture)
        offers.slot_offer_accept(offer=SlotOffer.objects.get(rank=1))  # Olivia rang the desk at 06:00
        clock.move_to(ny(date(2027, 3, 2), 8))
        run_offer_jobs()
    assert offer_emails() == []
    assert set(Notification.objects.filter(purpose="slot_offer").values_list("skip_reason", flat=True)) == {
        "offer_accepted",
        "offer_taken",
    }


def test_an_offer_is_not_sent_to_a_patient_booked_on_or_before_its_slot_meanwhile(manhattan, capture):
    from cycles import offers

    location, (adams, baker) = manhattan
    with time_machine.travel(ny(date(2027, 3, 1), 22), tick=False) as clock:
        olivia = due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia").patient
        cancel(slot(adams, location), capture)
        cancel(slot(adams, location, start=ny(SLOT_DAY, 11)), capture)
        mine = SlotOffer.objects.filter(patient=olivia)
        offers.slot_offer_accept(offer=mine.get(freed_slot__session__start=ny(SLOT_DAY, 9)))
        clock.move_to(ny(date(2027, 3, 2), 8))
        services.deliver_due()  # a worker delivers before the sweep has ended the 11:00 offer
    skipped = Notification.objects.get(purpose="slot_offer", patient=olivia, session__start=ny(SLOT_DAY, 11))
    assert (skipped.status, skipped.skip_reason) == ("skipped", "already_booked")
    assert [m.to for m in offer_emails()] == [[o.patient.email] for o in SlotOffer.objects.exclude(patient=olivia)]


# --- the link -------------------------------------------------------------------------------------


@pytest.fixture
def three_offers(manhattan, capture):
    """Olivia, Bea and Cal offered the slot by email; {name: link}."""
    location, (adams, baker) = manhattan
    with time_machine.travel(NOW, tick=False):
        for name, last in (("Olivia", date(2026, 11, 16)), ("Bea", date(2026, 12, 7)), ("Cal", date(2026, 12, 10))):
            due_patient(location, baker, last=last, given_name=name)
        due_patient(location, baker, last=date(2026, 12, 12), given_name="Dan")
        session = slot(adams, location)
        cancel(session, capture)
    out = {m.to[0]: link_in(m.body) for m in offer_emails()}
    return session, {o.patient.given_name: out[o.patient.email] for o in SlotOffer.objects.select_related("patient")}


@pytest.fixture
def pinned():
    with time_machine.travel(NOW + timedelta(hours=1), tick=False) as traveller:
        yield traveller


def csrf_client(url: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client, token


def test_the_offer_page_shows_the_slot_and_a_get_changes_nothing(three_offers, pinned):
    _, links = three_offers
    response = Client().get(links["Bea"])
    page = response.content.decode()
    assert response.status_code == 200
    assert "Wednesday 10 March 2027" in page and "09:00" in page and "Manhattan West" in page
    assert 'value="accept"' in page and 'value="decline"' in page and 'name="csrfmiddlewaretoken"' in page
    assert Client().get(links["Bea"]).status_code == 200
    assert set(SlotOffer.objects.values_list("status", flat=True)) == {"offered"}


def test_the_first_accept_books_the_slot_and_a_later_one_gets_the_slot_taken_page(three_offers, pinned):
    session, links = three_offers
    client, csrf = csrf_client(links["Cal"])
    response = client.post(links["Cal"], {"action": "accept", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert "Booked" in response.content.decode()
    (new,) = Session.objects.filter(start=session.start, status="booked")
    assert new.patient.given_name == "Cal"
    assert client.get(links["Cal"]).status_code == 410  # used

    late = Client().post(links["Olivia"], {"action": "accept"})
    assert late.status_code == 409
    assert 'data-code="slot_taken"' in late.content.decode()
    assert list(Session.objects.filter(start=session.start, status="booked")) == [new]
    assert SlotOffer.objects.get(patient__given_name="Olivia").status == "taken"
    assert Client().get(links["Bea"]).status_code == 409  # the page says so to the third too
    assert PatientLink.objects.filter(used_at__isnull=False).count() == 1


def test_declining_by_the_link_passes_the_slot_to_the_next_patient(three_offers, pinned, capture):
    _, links = three_offers
    with capture(execute=True):
        response = Client().post(links["Olivia"], {"action": "decline"})
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    assert dict(SlotOffer.objects.values_list("patient__given_name", "status")) == {
        "Olivia": "declined",
        "Bea": "offered",
        "Cal": "offered",
        "Dan": "offered",
    }
    assert Client().get(links["Olivia"]).status_code == 410
    assert len(offer_emails()) == 4  # Dan is told in turn


def test_an_offer_past_its_notice_period_answers_410_and_books_nothing(three_offers, pinned):
    session, links = three_offers
    pinned.move_to(session.start - timedelta(hours=23))
    assert Client().get(links["Bea"]).status_code == 410
    assert Client().post(links["Bea"], {"action": "accept"}).status_code == 410
    assert not Session.objects.filter(start=session.start, status="booked").exists()


def test_an_offer_link_cannot_act_on_another_offer_and_refuses_a_bad_action(three_offers, pinned):
    _, links = three_offers
    other = SlotOffer.objects.get(patient__given_name="Olivia")
    assert Client().post(links["Bea"], {"action": "accept", "offer": str(other.id)}).status_code == 400
    assert Client().post(links["Bea"], {"action": "explode"}).status_code == 400
    assert Client(enforce_csrf_checks=True).post(links["Bea"], {"action": "accept"}).status_code == 403
    assert set(SlotOffer.objects.values_list("status", flat=True)) == {"offered"}
    assert not FreedSlot.objects.filter(status="filled").exists()

"""Slot offers on the web UI: the day view marks each freed slot ("offered to 3"), the patient page lists the
patient's offers, each in a fixed number of queries."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cycles import offers
from cycles.models import Protocol, SlotOffer
from tests.offers import NOW, SLOT_DAY, cancel, clinic, due_patient, ny, slot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def manhattan(db):
    Protocol.objects.filter(pk=Protocol.default().pk).update(auto_book=False)
    return clinic()


def _freed(location, clinician, capture, hours, due_from=date(2026, 11, 16)):
    """Slots at these hours on 10 March freed, each offered to the three patients due then (made here)."""
    for index in range(3):
        due_patient(location, clinician, last=due_from + timedelta(days=index))
    for hour in hours:
        cancel(slot(clinician, location, start=ny(SLOT_DAY, hour)), capture)


def _day(client, location) -> tuple[str, int]:
    url = f"/day/?location={location.id}&date={SLOT_DAY}"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_day_view_marks_each_freed_slot_with_how_many_it_was_offered_to(
    desk, manhattan, django_capture_on_commit_callbacks
):
    location, (_, baker) = manhattan
    _freed(location, baker, django_capture_on_commit_callbacks, hours=[9])
    page, small = _day(desk, location)
    (mark,) = re.findall(r"<li data-freed-slot=.*?</li>", page, re.S)
    assert "09:00–09:30" in mark and "Dr Baker" in mark and "offered to 3" in mark

    with django_capture_on_commit_callbacks(execute=True):  # nobody else is due: the place stays empty
        offers.slot_offer_decline(offer=SlotOffer.objects.get(rank=1))
    _freed(location, baker, django_capture_on_commit_callbacks, hours=[11, 13, 15], due_from=date(2026, 11, 25))
    page, large = _day(desk, location)
    marks = re.findall(r"<li data-freed-slot=.*?</li>", page, re.S)
    assert len(marks) == 4 and "1 declined" in marks[0]
    assert large == small


def test_a_filled_slot_says_so(desk, manhattan, django_capture_on_commit_callbacks):
    location, (_, baker) = manhattan
    _freed(location, baker, django_capture_on_commit_callbacks, hours=[9])
    offers.slot_offer_accept(offer=SlotOffer.objects.get(rank=2))
    page, _ = _day(desk, location)
    assert "filled from an offer" in page


def test_the_patient_page_lists_the_patients_offers_in_a_fixed_number_of_queries(
    desk, manhattan, django_capture_on_commit_callbacks
):
    location, (_, baker) = manhattan
    _freed(location, baker, django_capture_on_commit_callbacks, hours=[9])
    offer = SlotOffer.objects.select_related("patient").get(rank=1)
    url = f"/patients/{offer.patient_id}/"

    def page():
        desk.get(url)
        with CaptureQueriesContext(connection) as queries:
            body = desk.get(url).content.decode()
        return body, len(queries)

    body, small = page()
    (row,) = re.findall(r"<tr data-slot-offer=.*?</tr>", body, re.S)
    assert "Wed 10 Mar 2027, 09:00" in row and "Dr Baker" in row and "Offered" in row
    for hour in (11, 13, 15):
        cancel(slot(baker, location, start=ny(SLOT_DAY, hour)), django_capture_on_commit_callbacks)
    body, large = page()
    assert len(re.findall(r"<tr data-slot-offer=", body)) == 4
    assert large == small

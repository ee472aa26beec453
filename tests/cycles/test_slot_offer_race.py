"""The first accept wins, under real concurrency: ten patients, each with their own offer link for one freed
slot, wait at a barrier and then POST `action=accept` to a running server at once.

On PostgreSQL the clinician's row lock and the exclusion constraint let exactly one booking through; the
others see it and get the 409 `slot_taken` page with nothing changed. On SQLite BEGIN IMMEDIATE serialises
them. Time is not pinned (the server's threads share the real clock): the slot is five days ahead.
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection

from clinic.timezones import today_in
from cycles import offers
from cycles.models import FreedSlot, Protocol, SlotOffer
from notifications import links
from notifications.models import Notification
from scheduling.models import Session
from scheduling.services import session_cancel
from tests.factories import FreedSlotFactory
from tests.offers import NY, clinic, due_patient, ny, slot
from tests.scheduling.test_concurrency import race_server  # noqa: F401  (the threaded live server fixture)

THREADS = 10


def _ten_offers(count: int = THREADS):
    """A slot five days ahead offered to `count` patients by email: (the cancelled session, their links)."""
    Protocol.objects.filter(pk=Protocol.default().pk).update(backfill_offers=count, auto_book=False)
    location, (adams, baker) = clinic()
    day = today_in(NY) + timedelta(days=5)
    for index in range(count):
        due_patient(location, baker, last=day - timedelta(days=90 + index), given_name=f"Racer{index}")
    session = slot(adams, location, start=ny(day, 10))
    # Committed at once (no test transaction): the offer task runs after commit, eagerly.
    session_cancel(session=session, reason="Patient unwell", by=None)
    # Each offer's link as its message carries it (made here: the real clock may be in quiet hours).
    rows = Notification.objects.filter(purpose="slot_offer", session=session)
    paths = [urlsplit(links.url_for(links.link_for_notification(notification=n))).path for n in rows]
    assert len(paths) == count
    return session, paths


def _race(base_url: str, paths: list[str]) -> list[tuple[int, str]]:
    barrier = threading.Barrier(len(paths))

    def one(link: str) -> tuple[int, str]:
        with requests.Session() as http:
            page = http.get(base_url + link, timeout=60)
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            barrier.wait(timeout=60)
            response = http.post(base_url + link, data={"action": "accept", "csrfmiddlewaretoken": csrf}, timeout=120)
            return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(one, paths))


def _one_booking_and_nine_slot_taken(server) -> None:
    session, paths = _ten_offers()
    results = _race(server.url, paths)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (THREADS - 1), statuses
    assert all('data-code="slot_taken"' in text for status, text in results if status == 409)
    in_slot = Session.objects.filter(
        clinician=session.clinician, status__in=Session.ACTIVE_STATUSES, start__lt=session.end, end__gt=session.start
    )
    (winner,) = in_slot
    statuses = dict(SlotOffer.objects.values_list("patient_id", "status"))
    assert statuses[winner.patient_id] == "accepted"
    assert sorted(statuses.values()) == ["accepted"] + ["taken"] * (THREADS - 1)
    assert FreedSlot.objects.get(session=session).status == "filled"
    # Only the winner's booking made a confirmation; the losers' transactions left nothing behind.
    assert Notification.objects.filter(purpose="booking_confirmation", session__in=in_slot).count() == 1
    assert Session.objects.filter(status="booked").count() == 1


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_ten_patients_accepting_one_slot_at_once_get_one_booking_and_nine_slot_taken(race_server, attempt):  # noqa: F811
    _one_booking_and_nine_slot_taken(race_server)


@pytest.mark.slow
def test_ten_accepts_at_once_are_serialised_on_any_database(race_server):  # noqa: F811
    """Runs on SQLite too: one file, BEGIN IMMEDIATE and a 30 s busy timeout serialise the accepts."""
    _one_booking_and_nine_slot_taken(race_server)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_making_one_slots_offers_at_once_make_them_once():
    Protocol.objects.filter(pk=Protocol.default().pk).update(auto_book=False)
    location, (adams, baker) = clinic()
    day = today_in(NY) + timedelta(days=5)
    for index in range(5):
        due_patient(location, baker, last=day - timedelta(days=90 + index))
    session = slot(adams, location, start=ny(day, 10))
    # The slot is freed and its task lost: it waits for the sweep, which four workers run at once.
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    freed = FreedSlotFactory(session=session, status=FreedSlot.Status.PENDING)
    made: list[int] = []
    barrier = threading.Barrier(4)

    def work():
        try:
            barrier.wait()
            made.append(len(offers.freed_slot_offer(freed_slot_id=freed.pk)))
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(made) == [0, 0, 0, 3]
    assert SlotOffer.objects.filter(freed_slot=freed).count() == 3
    assert Notification.objects.filter(purpose="slot_offer", session=session).count() == 3

"""API.md, Slot offers."""

from datetime import date, datetime

import pytest

from tests.contract.common import (
    API,
    SLOT_OFFER_FIELDS,
    assert_error,
    assert_page,
    is_aware_datetime,
    is_uuid,
    ny,
)

pytestmark = pytest.mark.django_db


def test_slot_offers_list_the_contract_fields_and_statuses(front_desk_client, clinician_client, freed_slot):
    session_id, offers = freed_slot
    for row in offers.values():
        assert set(row) >= SLOT_OFFER_FIELDS
        assert is_uuid(row["id"]) and row["session"] == session_id and is_uuid(row["patient"])
        assert datetime.fromisoformat(row["start"]) == ny(date(2027, 1, 13), 10)
        assert is_aware_datetime(row["offered_at"]) and row["responded_at"] is None
        assert row["status"] == "offered"
    patient = next(iter(offers))
    rows = assert_page(clinician_client.get(f"{API}/slot-offers/", {"patient": patient, "status": "offered"}))
    assert [r["patient"] for r in rows] == [patient]
    assert assert_page(front_desk_client.get(f"{API}/slot-offers/", {"status": "taken"})) == []


def test_a_second_accept_is_409_slot_taken_and_books_nothing(front_desk_client, freed_slot):
    session_id, offers = freed_slot
    first, second = offers.values()
    accepted = front_desk_client.post(f"{API}/slot-offers/{first['id']}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted" and is_aware_datetime(accepted.json()["responded_at"])
    assert_error(front_desk_client.post(f"{API}/slot-offers/{second['id']}/accept/"), 409, "slot_taken")
    rows = assert_page(front_desk_client.get(f"{API}/slot-offers/", {"session": session_id}))
    assert sorted(r["status"] for r in rows) == ["accepted", "taken"]
    booked = assert_page(front_desk_client.get(f"{API}/sessions/", {"status": "booked", "from": "2027-01-13"}))
    assert [r["patient"] for r in booked] == [first["patient"]]


def test_a_bad_slot_offer_filter_is_400_validation_error(front_desk_client):
    assert_error(front_desk_client.get(f"{API}/slot-offers/", {"status": "maybe"}), 400, "validation_error")

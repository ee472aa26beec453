"""API.md, Slots and sessions: free slots."""

from datetime import date, datetime, timedelta

import pytest

from tests.contract.common import (
    API,
    assert_error,
    is_aware_datetime,
    is_uuid,
    ny,
)

pytestmark = pytest.mark.django_db


def test_slots_are_a_plain_array_of_clinician_location_start_end(front_desk_client, clinician, location):
    response = front_desk_client.get(
        f"{API}/slots/", {"location": str(location.id), "from": "2027-01-04", "to": "2027-01-04", "kind": "treatment"}
    )
    assert response.status_code == 200
    slots = response.json()
    assert isinstance(slots, list)
    assert {"clinician", "location", "start", "end"} <= set(slots[0])
    assert all(is_aware_datetime(s["start"]) and is_aware_datetime(s["end"]) for s in slots)
    assert all(is_uuid(s["clinician"]) and s["location"] == str(location.id) for s in slots)
    starts = [datetime.fromisoformat(s["start"]) for s in slots]
    assert all(
        datetime.fromisoformat(s["end"]) - start == timedelta(minutes=30)
        for s, start in zip(slots, starts, strict=True)
    )
    assert starts[0] == ny(date(2027, 1, 4), 9) and len(slots) == 16  # 09:00–17:00 local, in 30-minute slots


def test_slots_follow_the_protocol_session_length(front_desk_client, clinic_admin_client, clinician, location):
    clinic_admin_client.patch(f"{API}/protocol/", {"session_minutes": 60})
    slots = front_desk_client.get(
        f"{API}/slots/", {"location": str(location.id), "from": "2027-01-04", "to": "2027-01-04"}
    )
    assert len(slots.json()) == 8


def test_slots_starting_in_the_past_are_left_out(front_desk_client, _now, clinician, location):
    _now.move_to(ny(date(2027, 1, 4), 12, 10))
    slots = front_desk_client.get(
        f"{API}/slots/", {"location": str(location.id), "from": "2027-01-04", "to": "2027-01-04"}
    )
    assert datetime.fromisoformat(slots.json()[0]["start"]) == ny(date(2027, 1, 4), 12, 30)


@pytest.mark.parametrize(("to", "status"), [("2027-02-04", 200), ("2027-02-05", 400)])
def test_a_slot_range_over_31_days_is_400(front_desk_client, clinician, location, to, status):
    response = front_desk_client.get(f"{API}/slots/", {"location": str(location.id), "from": "2027-01-04", "to": to})
    if status == 200:
        assert response.status_code == 200 and isinstance(response.json(), list)
    else:
        assert_error(response, 400, "validation_error")


def test_a_malformed_slot_date_is_400(front_desk_client, location):
    response = front_desk_client.get(f"{API}/slots/", {"location": str(location.id), "from": "04/01/2027"})
    assert "from" in assert_error(response, 400, "validation_error")["fields"]

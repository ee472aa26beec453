"""API.md, Clinic setup: locations, clinicians, working hours, time off, the protocol."""

from datetime import UTC, date, datetime, time

import pytest

from tests.contract.common import (
    API,
    NY,
    PROFILE_DEFAULTS,
    PROTOCOL_DEFAULTS,
    assert_error,
    assert_page,
    is_aware_datetime,
    is_uuid,
)
from tests.factories import ClinicianFactory

pytestmark = pytest.mark.django_db


def test_locations_have_id_name_and_time_zone(clinic_admin_client, front_desk_client):
    response = clinic_admin_client.post(f"{API}/locations/", {"name": "Brooklyn", "time_zone": "America/New_York"})
    assert response.status_code == 201
    body = response.json()
    assert {"id", "name", "time_zone"} <= set(body)
    assert is_uuid(body["id"])
    assert (body["name"], body["time_zone"]) == ("Brooklyn", "America/New_York")
    assert assert_page(front_desk_client.get(f"{API}/locations/"))[0]["id"] == body["id"]


def test_clinicians_have_id_name_user_and_location_ids(clinic_admin_client, clinician_client, location, clinician_user):
    response = clinic_admin_client.post(
        f"{API}/clinicians/", {"name": "Dr Kim", "user": clinician_user.pk, "locations": [str(location.id)]}
    )
    assert response.status_code == 201
    body = response.json()
    assert {"id", "name", "user", "locations"} <= set(body)
    assert is_uuid(body["id"]) and body["locations"] == [str(location.id)]
    assert body["user"] == clinician_user.pk
    # `user` is optional
    response = clinic_admin_client.post(f"{API}/clinicians/", {"name": "Dr Locum"})
    assert response.status_code == 201 and response.json()["user"] is None
    detail = clinician_client.get(f"{API}/clinicians/{body['id']}/")
    assert detail.status_code == 200 and detail.json()["name"] == "Dr Kim"
    patched = clinic_admin_client.patch(f"{API}/clinicians/{body['id']}/", {"locations": []})
    assert patched.status_code == 200 and patched.json()["locations"] == []
    assert_error(clinician_client.patch(f"{API}/clinicians/{body['id']}/", {"name": "x"}), 403, "permission_denied")


def test_working_hours_are_hh_mm_with_a_monday_zero_weekday(clinic_admin_client, front_desk_client, location):
    dr = ClinicianFactory()
    url = f"{API}/clinicians/{dr.id}/working-hours/"
    body = {"location": str(location.id), "weekday": 0, "start_time": "08:30", "end_time": "12:15"}
    response = clinic_admin_client.post(url, body)
    assert response.status_code == 201
    out = response.json()
    assert {k: out[k] for k in body} == body
    assert assert_page(front_desk_client.get(url))[0]["start_time"] == "08:30"
    # 0 = Monday: Monday 2027-01-11 08:30 local has a slot, Sunday 2027-01-10 has none
    slots = front_desk_client.get(
        f"{API}/slots/", {"location": str(location.id), "from": "2027-01-10", "to": "2027-01-11"}
    ).json()
    assert slots and {datetime.fromisoformat(s["start"]).astimezone(NY).date() for s in slots} == {date(2027, 1, 11)}
    assert datetime.fromisoformat(slots[0]["start"]).astimezone(NY).time() == time(8, 30)


@pytest.mark.parametrize("weekday", [-1, 7])
def test_a_weekday_outside_0_to_6_is_a_validation_error(clinic_admin_client, location, weekday):
    dr = ClinicianFactory()
    body = {"location": str(location.id), "weekday": weekday, "start_time": "09:00", "end_time": "17:00"}
    response = clinic_admin_client.post(f"{API}/clinicians/{dr.id}/working-hours/", body)
    assert "weekday" in assert_error(response, 400, "validation_error")["fields"]


def test_time_off_is_start_end_reason_as_aware_datetimes(clinic_admin_client, clinician_client):
    dr = ClinicianFactory()
    url = f"{API}/clinicians/{dr.id}/time-off/"
    response = clinic_admin_client.post(
        url, {"start": "2027-02-01T09:00:00-05:00", "end": "2027-02-02T17:00:00-05:00", "reason": "conference"}
    )
    assert response.status_code == 201
    out = response.json()
    assert is_aware_datetime(out["start"]) and is_aware_datetime(out["end"])
    assert datetime.fromisoformat(out["start"]) == datetime(2027, 2, 1, 14, tzinfo=UTC)
    assert out["reason"] == "conference"
    assert assert_page(clinician_client.get(url))[0]["id"] == out["id"]


@pytest.mark.parametrize("field", ["start", "end"])
def test_time_off_without_an_offset_is_400(clinic_admin_client, field):
    dr = ClinicianFactory()
    body = {"start": "2027-02-01T09:00:00Z", "end": "2027-02-02T09:00:00Z", "reason": "x"}
    body[field] = body[field].removesuffix("Z")
    response = clinic_admin_client.post(f"{API}/clinicians/{dr.id}/time-off/", body)
    assert field in assert_error(response, 400, "validation_error")["fields"]


def test_the_protocol_has_every_named_field_with_its_default(front_desk_client):
    body = front_desk_client.get(f"{API}/protocol/").json()
    defaults = {**PROTOCOL_DEFAULTS, **PROFILE_DEFAULTS, "is_default": True}
    assert {k: body[k] for k in defaults} == defaults
    assert all(type(body[k]) is type(v) for k, v in defaults.items())
    assert {"dysphagia", "breathing_difficulty", "diplopia", "dysphonia", "dysarthria"} <= set(
        body["urgent_adverse_events"]
    )
    assert {"generalized_weakness", "allergic_reaction"} <= set(body["urgent_adverse_events"])


def test_the_default_profile_is_the_one_marked_in_the_profiles_list(front_desk_client):
    default = front_desk_client.get(f"{API}/protocol/").json()
    listed = assert_page(front_desk_client.get(f"{API}/protocols/"))
    assert [p["id"] for p in listed if p["is_default"]] == [default["id"]]


def test_only_a_clinic_admin_creates_locations_and_clinicians(front_desk_client, clinician_client):
    for client in (front_desk_client, clinician_client):
        assert_error(client.post(f"{API}/locations/", {"name": "X", "time_zone": "UTC"}), 403, "permission_denied")
        assert_error(client.post(f"{API}/clinicians/", {"name": "X"}), 403, "permission_denied")

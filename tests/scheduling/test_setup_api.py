"""Clinic setup over HTTP: locations, clinicians, working hours, time off and the protocol.

Every staff role reads; only clinic_admin writes.
"""

import uuid
from datetime import time

import pytest

from cycles.models import Protocol
from scheduling.models import Clinician, Location, TimeOff, WorkingHours
from tests.factories import ClinicianFactory, LocationFactory

ROLES = ["front_desk_client", "clinician_client", "clinic_admin_client"]
PROTOCOL_DEFAULTS = {
    "interval_days": 84,
    "min_interval_days": 84,
    "window_days": 14,
    "session_minutes": 30,
    "review_after_sessions": 3,
    "response_threshold_pct": 30,
    "standard_units": 155,
    "max_units": 195,
    "cumulative_limit_units": 400,
    "cumulative_limit_days": 90,
    "auto_book": True,
    "min_failed_preventives": 2,
}


def paged(response):
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body["results"]


# --- locations -----------------------------------------------------------------------------


def test_clinic_admin_creates_a_location_with_its_zone(clinic_admin_client):
    response = clinic_admin_client.post("/api/v1/locations/", {"name": "London Bridge", "time_zone": "Europe/London"})
    assert response.status_code == 201
    assert set(response.json()) == {"id", "name", "time_zone"}
    assert Location.objects.get(id=response.json()["id"]).time_zone == "Europe/London"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/Londres", "", "+01:00"])
def test_a_location_with_an_unknown_zone_is_a_validation_error(clinic_admin_client, zone):
    response = clinic_admin_client.post("/api/v1/locations/", {"name": "X", "time_zone": zone})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "time_zone" in response.json()["fields"]


def test_a_duplicate_location_name_is_a_validation_error(clinic_admin_client):
    LocationFactory(name="Same")
    response = clinic_admin_client.post("/api/v1/locations/", {"name": "Same", "time_zone": "UTC"})
    assert response.status_code == 400
    assert "name" in response.json()["fields"]


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_role_reads_locations(request, role, db):
    LocationFactory(name="Manhattan")
    response = request.getfixturevalue(role).get("/api/v1/locations/")
    assert response.status_code == 200
    assert [row["name"] for row in paged(response)] == ["Manhattan"]


@pytest.mark.parametrize("role", ["front_desk_client", "clinician_client"])
def test_only_clinic_admin_writes_setup(request, role, db):
    client = request.getfixturevalue(role)
    clinician = ClinicianFactory()
    location = LocationFactory()
    attempts = [
        client.post("/api/v1/locations/", {"name": "X", "time_zone": "UTC"}),
        client.post("/api/v1/clinicians/", {"name": "Dr X"}),
        client.patch(f"/api/v1/clinicians/{clinician.id}/", {"name": "Dr Y"}, format="json"),
        client.post(
            f"/api/v1/clinicians/{clinician.id}/working-hours/",
            {"location": str(location.id), "weekday": 0, "start_time": "09:00", "end_time": "17:00"},
        ),
        client.post(
            f"/api/v1/clinicians/{clinician.id}/time-off/",
            {"start": "2027-01-04T00:00:00Z", "end": "2027-01-05T00:00:00Z"},
        ),
        client.patch("/api/v1/protocol/", {"max_units": 200}, format="json"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert {r.json()["code"] for r in attempts} == {"permission_denied"}
    assert Location.objects.count() == 1
    assert Clinician.objects.get().name == clinician.name


def test_anonymous_callers_get_401(anon_client, db):
    for path in ["/api/v1/locations/", "/api/v1/clinicians/", "/api/v1/protocol/", "/api/v1/slots/"]:
        response = anon_client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


# --- clinicians -----------------------------------------------------------------------------


def test_clinic_admin_creates_and_patches_a_clinician(clinic_admin_client, clinician_user):
    manhattan, brooklyn = LocationFactory(name="Manhattan"), LocationFactory(name="Brooklyn")
    created = clinic_admin_client.post(
        "/api/v1/clinicians/",
        {"name": "Dr Lee", "user": clinician_user.id, "locations": [str(manhattan.id)]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["user"] == clinician_user.id
    assert body["locations"] == [str(manhattan.id)]
    patched = clinic_admin_client.patch(
        f"/api/v1/clinicians/{body['id']}/", {"locations": [str(brooklyn.id)], "name": "Dr Amy Lee"}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["locations"] == [str(brooklyn.id)]
    assert patched.json()["name"] == "Dr Amy Lee"
    detail = clinic_admin_client.get(f"/api/v1/clinicians/{body['id']}/")
    assert detail.json()["name"] == "Dr Amy Lee"


def test_a_clinician_with_an_unknown_location_is_a_validation_error(clinic_admin_client):
    response = clinic_admin_client.post(
        "/api/v1/clinicians/", {"name": "Dr X", "locations": [str(uuid.uuid4())]}, format="json"
    )
    assert response.status_code == 400
    assert "locations" in response.json()["fields"]


def test_an_unknown_clinician_is_404(clinic_admin_client):
    response = clinic_admin_client.get(f"/api/v1/clinicians/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_clinician_list_costs_the_same_queries_for_any_number(clinic_admin_client, django_assert_num_queries):
    location = LocationFactory()
    for _ in range(3):
        ClinicianFactory(locations=[location])
    # 1 the token with its user and roles, 2 count, 3 clinicians, 4 their locations (prefetch)
    with django_assert_num_queries(4):
        assert clinic_admin_client.get("/api/v1/clinicians/").status_code == 200
    for _ in range(20):
        ClinicianFactory(locations=[location])
    with django_assert_num_queries(4):
        assert len(paged(clinic_admin_client.get("/api/v1/clinicians/"))) == 23


# --- working hours and time off ------------------------------------------------------------------


@pytest.fixture
def dr(db):
    return ClinicianFactory(name="Dr Lee")


def test_working_hours_are_local_hh_mm_and_add_the_location(clinic_admin_client, front_desk_client, dr):
    location = LocationFactory(name="London", time_zone="Europe/London")
    response = clinic_admin_client.post(
        f"/api/v1/clinicians/{dr.id}/working-hours/",
        {"location": str(location.id), "weekday": 0, "start_time": "09:00", "end_time": "13:30"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["start_time"] == "09:00"
    assert response.json()["end_time"] == "13:30"
    assert response.json()["weekday"] == 0
    assert WorkingHours.objects.get().start_time == time(9)
    assert list(dr.locations.all()) == [location]
    listed = paged(front_desk_client.get(f"/api/v1/clinicians/{dr.id}/working-hours/"))
    assert [(h["weekday"], h["start_time"], h["end_time"]) for h in listed] == [(0, "09:00", "13:30")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekday": 7, "start_time": "09:00", "end_time": "17:00"}, "weekday"),
        ({"weekday": -1, "start_time": "09:00", "end_time": "17:00"}, "weekday"),
        ({"weekday": 0, "start_time": "9am", "end_time": "17:00"}, "start_time"),
        ({"weekday": 0, "start_time": "17:00", "end_time": "09:00"}, "end_time"),
        ({"weekday": 0, "start_time": "09:00", "end_time": "09:00"}, "end_time"),
        ({"weekday": 0, "start_time": "09:00"}, "end_time"),
    ],
)
def test_bad_working_hours_are_validation_errors(clinic_admin_client, dr, body, field):
    location = LocationFactory()
    response = clinic_admin_client.post(
        f"/api/v1/clinicians/{dr.id}/working-hours/", {"location": str(location.id), **body}
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not WorkingHours.objects.exists()


def test_overlapping_working_hours_on_one_day_are_refused_even_at_another_location(clinic_admin_client, dr):
    first, second = LocationFactory(name="A"), LocationFactory(name="B")
    ok = clinic_admin_client.post(
        f"/api/v1/clinicians/{dr.id}/working-hours/",
        {"location": str(first.id), "weekday": 1, "start_time": "09:00", "end_time": "13:00"},
    )
    assert ok.status_code == 201
    clash = clinic_admin_client.post(
        f"/api/v1/clinicians/{dr.id}/working-hours/",
        {"location": str(second.id), "weekday": 1, "start_time": "12:00", "end_time": "17:00"},
    )
    assert clash.status_code == 400
    assert clash.json()["code"] == "validation_error"
    afternoon = clinic_admin_client.post(
        f"/api/v1/clinicians/{dr.id}/working-hours/",
        {"location": str(second.id), "weekday": 1, "start_time": "13:00", "end_time": "17:00"},
    )
    assert afternoon.status_code == 201


def test_time_off_takes_aware_datetimes(clinic_admin_client, clinician_client, dr):
    response = clinic_admin_client.post(
        f"/api/v1/clinicians/{dr.id}/time-off/",
        {"start": "2027-03-01T00:00:00-05:00", "end": "2027-03-08T00:00:00-05:00", "reason": "leave"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["start"] == "2027-03-01T05:00:00Z"
    assert response.json()["reason"] == "leave"
    assert TimeOff.objects.get().clinician == dr
    listed = paged(clinician_client.get(f"/api/v1/clinicians/{dr.id}/time-off/"))
    assert [t["end"] for t in listed] == ["2027-03-08T05:00:00Z"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2027-03-01T00:00:00", "end": "2027-03-02T00:00:00Z"}, "start"),
        ({"start": "2027-03-01T00:00:00Z", "end": "2027-03-02"}, "end"),
        ({"start": "2027-03-02T00:00:00Z", "end": "2027-03-01T00:00:00Z"}, "end"),
    ],
)
def test_bad_time_off_is_a_validation_error(clinic_admin_client, dr, body, field):
    response = clinic_admin_client.post(f"/api/v1/clinicians/{dr.id}/time-off/", body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not TimeOff.objects.exists()


def test_setup_under_an_unknown_clinician_is_404(clinic_admin_client):
    response = clinic_admin_client.get(f"/api/v1/clinicians/{uuid.uuid4()}/working-hours/")
    assert response.status_code == 404


# --- protocol ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_protocol_with_its_defaults(request, role, db):
    response = request.getfixturevalue(role).get("/api/v1/protocol/")
    assert response.status_code == 200
    assert {key: response.json()[key] for key in PROTOCOL_DEFAULTS} == PROTOCOL_DEFAULTS


def test_clinic_admin_patches_the_active_protocol(clinic_admin_client, db):
    response = clinic_admin_client.patch(
        "/api/v1/protocol/", {"min_failed_preventives": 3, "response_threshold_pct": 50}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["min_failed_preventives"] == 3
    active = Protocol.default()
    assert (active.min_failed_preventives, active.response_threshold_pct) == (3, 50)
    assert Protocol.objects.filter(is_default=True).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"response_threshold_pct": 0}, "response_threshold_pct"),
        ({"response_threshold_pct": 101}, "response_threshold_pct"),
        ({"session_minutes": 0}, "session_minutes"),
        ({"interval_days": "soon"}, "interval_days"),
        ({"max_units": 100}, "max_units"),
        ({"min_interval_days": 90}, "min_interval_days"),
    ],
)
def test_a_bad_protocol_patch_is_a_validation_error_and_changes_nothing(clinic_admin_client, db, body, field):
    response = clinic_admin_client.patch("/api/v1/protocol/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert {k: getattr(Protocol.default(), k) for k in PROTOCOL_DEFAULTS} == PROTOCOL_DEFAULTS


def test_clinic_admin_removes_working_hours_and_time_off(clinic_admin_client, front_desk_client, dr):
    from tests.factories import TimeOffFactory, WorkingHoursFactory

    hours = WorkingHoursFactory(clinician=dr)
    leave = TimeOffFactory(clinician=dr)
    hours_url = f"/api/v1/clinicians/{dr.id}/working-hours/{hours.id}/"
    leave_url = f"/api/v1/clinicians/{dr.id}/time-off/{leave.id}/"
    assert front_desk_client.get(hours_url).json()["id"] == str(hours.id)
    assert front_desk_client.delete(hours_url).status_code == 403
    assert clinic_admin_client.delete(hours_url).status_code == 204
    assert clinic_admin_client.delete(leave_url).status_code == 204
    assert not WorkingHours.objects.exists()
    assert not TimeOff.objects.exists()
    assert clinic_admin_client.delete(hours_url).status_code == 404
    other = ClinicianFactory()
    foreign = WorkingHoursFactory(clinician=other)
    assert clinic_admin_client.delete(f"/api/v1/clinicians/{dr.id}/working-hours/{foreign.id}/").status_code == 404

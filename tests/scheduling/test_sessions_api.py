"""Slots and the sessions list over HTTP: local-date ranges, DST, filters and pinned query counts."""

import uuid
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.models import AuditLog
from clinic.timezones import shift_days_keep_wall_clock
from cycles.models import Protocol
from scheduling.models import Session
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    SessionFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)
from tests.scheduling.conftest import at, make_eligible

pytestmark = pytest.mark.usefixtures("now")

MONDAY = date(2027, 1, 4)
TUESDAY = date(2027, 1, 5)


def slots(client, location, start: date, end: date, **extra):
    params = {"location": str(location.id), "from": start.isoformat(), "to": end.isoformat(), **extra}
    return client.get("/api/v1/slots/", params)


def local_times(rows, tz: str):
    from datetime import datetime

    return [datetime.fromisoformat(r["start"]).astimezone(ZoneInfo(tz)).strftime("%H:%M") for r in rows]


# --- slots ---------------------------------------------------------------------------------------


def test_slots_are_a_plain_array_of_free_session_lengths(clinician, location, front_desk_client):
    response = slots(front_desk_client, location, TUESDAY, TUESDAY)
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list)
    assert len(rows) == 16
    assert rows[0] == {
        "clinician": str(clinician.id),
        "location": str(location.id),
        "start": "2027-01-05T14:00:00Z",
        "end": "2027-01-05T14:30:00Z",
    }


def test_slots_leave_out_booked_time_time_off_and_the_past(clinician, location, front_desk_client):
    SessionFactory(clinician=clinician, location=location, start=at(TUESDAY, 9, 10))  # off the grid: 09:00 and 09:30
    SessionFactory(clinician=clinician, location=location, start=at(TUESDAY, 11), status=Session.Status.CANCELLED)
    TimeOffFactory(clinician=clinician, start=at(TUESDAY, 13), end=at(TUESDAY, 17))
    rows = slots(front_desk_client, location, TUESDAY, TUESDAY).json()
    assert local_times(rows, "America/New_York") == [
        "10:00", "10:30", "11:00", "11:30", "12:00", "12:30",
    ]  # fmt: skip
    with time_machine.travel(at(MONDAY, 12, 5), tick=False):
        today = slots(front_desk_client, location, MONDAY, MONDAY).json()
    assert local_times(today, "America/New_York")[0] == "12:30"


def test_a_clinician_busy_at_another_location_has_no_slot_here(clinician, location, front_desk_client):
    elsewhere = LocationFactory(name="Brooklyn", time_zone="America/New_York")
    SessionFactory(clinician=clinician, location=elsewhere, start=at(TUESDAY, 9))
    assert local_times(slots(front_desk_client, location, TUESDAY, TUESDAY).json(), "America/New_York")[0] == "09:30"


def test_slots_can_be_narrowed_to_one_clinician(clinician, other_clinician, location, front_desk_client):
    both = slots(front_desk_client, location, TUESDAY, TUESDAY).json()
    assert {r["clinician"] for r in both} == {str(clinician.id), str(other_clinician.id)}
    one = slots(front_desk_client, location, TUESDAY, TUESDAY, clinician=str(other_clinician.id)).json()
    assert {r["clinician"] for r in one} == {str(other_clinician.id)}
    assert len(one) == 16


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2027-01-05", "to": "2027-02-06"}, "to"),
        ({"from": "2027-01-05", "to": "2027-01-04"}, "to"),
        ({"from": "05/01/2027", "to": "2027-01-06"}, "from"),
        ({"from": "2027-01-05", "to": "2027-01-06", "kind": "massage"}, "kind"),
        ({"from": "2027-01-05", "to": "2027-01-06", "clinician": "nope"}, "clinician"),
    ],
)
def test_bad_slot_queries_are_validation_errors(location, clinician, front_desk_client, params, field):
    response = front_desk_client.get("/api/v1/slots/", {"location": str(location.id), **params})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_a_31_day_range_is_allowed_and_an_unknown_location_is_refused(location, clinician, front_desk_client):
    assert slots(front_desk_client, location, TUESDAY, TUESDAY + timedelta(days=31)).status_code == 200
    unknown = front_desk_client.get("/api/v1/slots/", {"location": str(uuid.uuid4())})
    assert unknown.status_code == 400
    assert "location" in unknown.json()["fields"]


def test_without_a_location_slots_come_from_every_location_in_its_own_zone(
    location, clinician, front_desk_client, django_assert_num_queries
):
    london = LocationFactory(name="London Bridge", time_zone="Europe/London")
    WorkingHoursFactory(
        clinician=ClinicianFactory(locations=[london]),
        location=london,
        weekday=TUESDAY.weekday(),
        start_time=time(8),
        end_time=time(9),
    )
    Protocol.default()
    # 1 the token with its user and roles, 2 locations, 3 protocol, 4 working hours, 5 time off, 6 active sessions
    with django_assert_num_queries(6):
        rows = front_desk_client.get("/api/v1/slots/", {"from": str(TUESDAY), "to": str(TUESDAY)}).json()
    in_london = [r for r in rows if r["location"] == str(london.id)]
    assert local_times(in_london, "Europe/London") == ["08:00", "08:30"]
    assert local_times([r for r in rows if r["location"] == str(location.id)], "America/New_York")[0] == "09:00"


def _fill(clinician, location, count: int) -> None:
    """`count` sessions spread over the month, on the half-hour grid of working days."""
    day, made = TUESDAY, 0
    while made < count:
        if day.weekday() < 5:
            for hour in range(9, 17):
                if made < count:
                    SessionFactory(clinician=clinician, location=location, start=at(day, hour))
                    made += 1
        day += timedelta(days=1)


@pytest.mark.parametrize("count", [5, 50])
def test_a_31_day_slot_search_costs_the_same_queries_for_any_number_of_sessions(
    clinician, other_clinician, location, front_desk_client, django_assert_num_queries, count
):
    _fill(clinician, location, count)
    TimeOffFactory(clinician=other_clinician, start=at(date(2027, 1, 12), 0), end=at(date(2027, 1, 14), 0))
    # 1 the token with its user and roles, 2 location, 3 protocol, 4 working hours, 5 time off, 6 active sessions
    with django_assert_num_queries(6):
        response = slots(front_desk_client, location, TUESDAY, TUESDAY + timedelta(days=31))
    assert response.status_code == 200
    taken = {(r["clinician"], r["start"]) for r in response.json()}
    assert not any(s.clinician_id == clinician.id and s.start.isoformat() in taken for s in Session.objects.all())


# --- DST -------------------------------------------------------------------------------------------


@pytest.fixture
def every_day(db):
    """A clinician at each zone's clinic seven days a week, 09:00–17:00 local."""

    def make(zone: str):
        location = LocationFactory(name=f"Clinic {zone}", time_zone=zone)
        clinician = ClinicianFactory(name=f"Dr {zone}")
        for weekday in range(7):
            WorkingHoursFactory(
                clinician=clinician, location=location, weekday=weekday, start_time=time(9), end_time=time(17)
            )
        return clinician, location

    return make


@pytest.mark.parametrize(
    ("zone", "before", "change", "after_utc_hour", "before_utc_hour"),
    [
        ("America/New_York", date(2027, 3, 13), date(2027, 3, 14), 13, 14),  # spring forward
        ("America/New_York", date(2027, 11, 6), date(2027, 11, 7), 14, 13),  # fall back
        ("Europe/London", date(2027, 3, 27), date(2027, 3, 28), 8, 9),  # spring forward
        ("Europe/London", date(2027, 10, 30), date(2027, 10, 31), 9, 8),  # fall back
    ],
)
def test_slots_on_a_dst_change_day_start_at_nine_local(
    every_day, front_desk_client, zone, before, change, after_utc_hour, before_utc_hour
):
    _, location = every_day(zone)
    rows = slots(front_desk_client, location, before, change).json()
    by_day = {}
    for row in rows:
        by_day.setdefault(row["start"][:10], []).append(row)
    assert by_day[before.isoformat()][0]["start"] == f"{before.isoformat()}T{before_utc_hour:02d}:00:00Z"
    assert by_day[change.isoformat()][0]["start"] == f"{change.isoformat()}T{after_utc_hour:02d}:00:00Z"
    assert local_times(by_day[change.isoformat()], zone)[0] == "09:00"
    assert local_times(by_day[change.isoformat()], zone)[-1] == "16:30"
    assert len(by_day[before.isoformat()]) == len(by_day[change.isoformat()]) == 16


@pytest.mark.parametrize(
    ("zone", "first_day", "expected_utc"),
    [
        ("America/New_York", date(2027, 1, 4), "2027-03-29T13:00:00Z"),  # EST → EDT
        ("America/New_York", date(2027, 9, 6), "2027-11-29T14:00:00Z"),  # EDT → EST
        ("Europe/London", date(2027, 3, 1), "2027-05-24T08:00:00Z"),  # GMT → BST
        ("Europe/London", date(2027, 8, 9), "2027-11-01T09:00:00Z"),  # BST → GMT
    ],
)
def test_a_12_week_jump_across_a_change_keeps_the_wall_clock_time(
    every_day, clinician_user, clinician_client, zone, first_day, expected_utc
):
    clinician, location = every_day(zone)
    patient = make_eligible(PatientFactory(), before=date(2026, 12, 1))
    with time_machine.travel(at(first_day, 7, tz=zone), tick=False):
        first = clinician_client.post(
            "/api/v1/sessions/",
            {
                "patient": str(patient.id),
                "clinician": str(clinician.id),
                "location": str(location.id),
                "start": at(first_day, 9, tz=zone).isoformat(),
                "kind": "consultation",
            },
            format="json",
        )
        assert first.status_code == 201, first.json()
    from datetime import datetime

    start = datetime.fromisoformat(first.json()["start"])
    target = shift_days_keep_wall_clock(start, 84, ZoneInfo(zone))
    assert target.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z") == expected_utc
    assert target.astimezone(ZoneInfo(zone)).time() == time(9)
    with time_machine.travel(at(first_day, 7, tz=zone), tick=False):
        free = slots(clinician_client, location, target.date(), target.date()).json()
        assert free[0]["start"] == expected_utc  # the 09:00 local slot exists on the far side of the change
        second = clinician_client.post(
            "/api/v1/sessions/",
            {
                "patient": str(patient.id),
                "clinician": str(clinician.id),
                "location": str(location.id),
                "start": target.isoformat(),
                "kind": "consultation",
            },
            format="json",
        )
        assert second.status_code == 201, second.json()
        assert second.json()["start"] == expected_utc
        assert second.json()["start_local"].startswith(f"{target.date().isoformat()}T09:00:00")
        assert slots(clinician_client, location, target.date(), target.date()).json()[0]["start"] != expected_utc


# --- the sessions list -------------------------------------------------------------------------


@pytest.fixture
def two_zones(db):
    ny = LocationFactory(name="Manhattan", time_zone="America/New_York")
    london = LocationFactory(name="London", time_zone="Europe/London")
    return ny, london


def test_from_and_to_are_local_dates_of_each_sessions_location(two_zones, front_desk_client):
    ny, london = two_zones
    # 22:00 on Tuesday in New York is 03:00 UTC on Wednesday; 00:30 Wednesday in London is the same UTC date.
    late_ny = SessionFactory(location=ny, start=at(TUESDAY, 22))
    early_london = SessionFactory(location=london, start=at(date(2027, 1, 6), 0, 30, tz="Europe/London"))
    tuesday = front_desk_client.get("/api/v1/sessions/", {"from": "2027-01-05", "to": "2027-01-05"}).json()
    assert [r["id"] for r in tuesday["results"]] == [str(late_ny.id)]
    wednesday = front_desk_client.get("/api/v1/sessions/", {"from": "2027-01-06", "to": "2027-01-06"}).json()
    assert [r["id"] for r in wednesday["results"]] == [str(early_london.id)]
    only_from = front_desk_client.get("/api/v1/sessions/", {"from": "2027-01-06"}).json()
    assert [r["id"] for r in only_from["results"]] == [str(early_london.id)]


def test_the_list_filters_by_patient_clinician_location_status_and_kind(two_zones, front_desk_client):
    ny, london = two_zones
    a = SessionFactory(location=ny, start=at(TUESDAY, 10))
    b = SessionFactory(location=london, start=at(TUESDAY, 10, tz="Europe/London"), kind=Session.Kind.REVIEW)
    c = SessionFactory(
        location=ny, start=at(TUESDAY, 11), status=Session.Status.CANCELLED, patient=a.patient, course=a.course
    )

    def ids(**params):
        response = front_desk_client.get("/api/v1/sessions/", params)
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids() == {str(a.id), str(b.id), str(c.id)}
    assert ids(patient=str(a.patient_id)) == {str(a.id), str(c.id)}
    assert ids(clinician=str(b.clinician_id)) == {str(b.id)}
    assert ids(location=str(ny.id)) == {str(a.id), str(c.id)}
    assert ids(status="cancelled") == {str(c.id)}
    assert ids(kind="review") == {str(b.id)}
    assert ids(location=str(ny.id), status="booked", **{"from": "2027-01-05", "to": "2027-01-05"}) == {str(a.id)}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"kind": "x"}, "kind"),
        ({"from": "tomorrow"}, "from"),
        ({"patient": "1"}, "patient"),
    ],
)
def test_bad_list_filters_are_validation_errors(front_desk_client, params, field):
    response = front_desk_client.get("/api/v1/sessions/", params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_the_list_is_paginated_and_audited(two_zones, front_desk_client):
    ny, _ = two_zones
    sessions = [SessionFactory(location=ny, start=at(TUESDAY, 9) + timedelta(hours=i)) for i in range(3)]
    response = front_desk_client.get("/api/v1/sessions/", {"page_size": 2})
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert body["results"][0]["start"] < body["results"][1]["start"]
    read = AuditLog.objects.filter(action="read", resource="session")
    assert set(read.values_list("patient_id", flat=True)) == {s.patient_id for s in sessions[:2]}


@pytest.mark.parametrize("count", [5, 50])
def test_the_sessions_list_costs_the_same_queries_for_any_number_of_sessions(
    two_zones, front_desk_client, django_assert_num_queries, count
):
    ny, london = two_zones
    for i in range(count):
        SessionFactory(location=ny if i % 2 else london, start=at(TUESDAY, 9) + timedelta(minutes=30 * i))
    # 1 the token with its user and roles, 2 count, 3 sessions joined with patient, clinician, location, 4 audit rows
    with django_assert_num_queries(4):
        response = front_desk_client.get("/api/v1/sessions/", {"page_size": 200})
    assert response.json()["count"] == count
    # with a local-date range: + 1 for the locations whose zones bound the range
    with django_assert_num_queries(5):
        response = front_desk_client.get(
            "/api/v1/sessions/", {"page_size": 200, "from": "2027-01-01", "to": "2027-02-28"}
        )
    assert response.json()["count"] == count


def test_a_session_detail_is_audited_and_shows_the_review_marker_to_clinicians_only(
    front_desk_client, clinician_client
):
    session = SessionFactory(start=at(TUESDAY, 10))
    response = front_desk_client.get(f"/api/v1/sessions/{session.id}/")
    assert response.status_code == 200
    assert "review_required" not in response.json()  # DESIGN.md §6: nothing derived from clinical data
    assert clinician_client.get(f"/api/v1/sessions/{session.id}/").json()["review_required"] is False
    assert AuditLog.objects.filter(action="read", resource="session", object_id=str(session.id)).exists()

"""API.md, held word for word from the outside: paths, fields, formats, statuses and error codes.

Black-box: every call goes through DRF's APIClient with a token, as an integrator's
client would. The other API tests pin each feature in depth; this module pins the
contract details they leave implicit (exact field sets, formats, every error shape,
every list's pagination, the OpenAPI schema naming it all).

Where API.md is silent, the choice made is written next to the test that pins it:
- a malformed body (bad JSON) is a `validation_error` and, like every one, names
  `fields` (`non_field_errors`);
- an untreated patient's `baseline` is still the object API.md shows: the diary
  of the 90 days up to today, as eligibility counts it;
- reschedule takes `override_reason` exactly as booking does ("same checks");
- a page past the end is 404 `not_found`; `page_size` above 200 is cut to 200;
- a malformed id in a path is 404 `not_found`, like an unknown one.

Time is pinned to Monday 2027-01-04 12:00 UTC (07:00 in New York).
"""

import json
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from clinic.timezones import local_datetime
from cycles.models import Course, Protocol, ReviewFlag, TreatmentRecord
from notifications.models import Notification
from patients.models import Patient
from scheduling.models import Session
from tests.factories import (
    AuthorizationFactory,
    ClinicianFactory,
    CourseFactory,
    DiaryEntryFactory,
    LocationFactory,
    PatientFactory,
    ReviewFlagFactory,
    SessionFactory,
    SlotOfferFactory,
    TimeOffFactory,
    TreatmentRecordFactory,
)
from tests.scheduling.conftest import make_eligible, open_weekdays

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
API = "/api/v1"
PAGE_KEYS = {"count", "next", "previous", "results"}
STANDARD = TreatmentRecord.STANDARD_UNITS
# API.md, Courses and protocol profiles: the fields a profile adds to /protocol/'s, with their defaults.
PROFILE_DEFAULTS = {
    "min_baseline_diary_days": 28,
    "min_cycle_diary_days": 28,
    "baseline_window_days": 90,
    "assessment_after_days": 56,
    "response_metric": "headache_days",
    "review_after_sessions": 3,
    "episodic_threshold_days": 15,
    "episodic_min_diary_days": 84,
    "overuse_acute_days": 10,
    "requires_authorization": False,
    "units_per_site": 5,
    "backfill_offers": 3,
    "backfill_min_notice_hours": 24,
}
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


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def ny(day: date, hour: int, minute: int = 0) -> datetime:
    return local_datetime(day, time(hour, minute), NY)


def iso(moment: datetime) -> str:
    """What a client sends: the local wall-clock time with its offset."""
    return moment.astimezone(NY).isoformat()


# --- format checkers ------------------------------------------------------------------------------


def is_uuid(value) -> bool:
    try:
        return str(uuid.UUID(str(value))) == value
    except ValueError:
        return False


def is_aware_datetime(value) -> bool:
    """ISO 8601 with `Z` or an offset (API.md: "UTC `Z` or an offset out")."""
    if not isinstance(value, str) or not re.search(r"(Z|[+-]\d\d:\d\d)$", value):
        return False
    return datetime.fromisoformat(value).tzinfo is not None


def is_date(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


def assert_error(response, status: int, code: str, *, fields: bool | None = None) -> dict:
    """The error shape of API.md: {"code", "detail", "fields"?}; `fields` only for validation errors."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    if code == "validation_error":
        assert isinstance(body["fields"], dict) and body["fields"], body
        for messages in body["fields"].values():
            assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    else:
        assert "fields" not in body, body
    if fields is False:
        assert "fields" not in body
    return body


def assert_page(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert set(body) == PAGE_KEYS, body
    assert isinstance(body["count"], int)
    assert body["previous"] is None
    assert body["next"] is None or body["next"].startswith("http")
    assert isinstance(body["results"], list)
    return body["results"]


# --- the world ------------------------------------------------------------------------------------


@pytest.fixture
def location(db):
    return LocationFactory(name="Manhattan", time_zone="America/New_York")


@pytest.fixture
def clinician(location, clinician_user):
    return open_weekdays(ClinicianFactory(name="Dr Lee", user=clinician_user), location)


@pytest.fixture
def other_clinician(location):
    return open_weekdays(ClinicianFactory(name="Dr Patel"), location)


@pytest.fixture
def patient(db):
    return make_eligible(PatientFactory(mrn="MRN-CONTRACT", given_name="Ada", family_name="Byron"))


def book_body(patient, clinician, location, start: datetime, **extra) -> dict:
    return {
        "patient": str(patient.id),
        "clinician": str(clinician.id),
        "location": str(location.id),
        "start": iso(start),
        "kind": "treatment",
        **extra,
    }


def treatment_body(**overrides) -> dict:
    body = {
        "units_by_muscle": dict(STANDARD),
        "sites": 31,
        "units_wasted": 0,
        "lot_number": "C1234A",
        "lot_expiry": "2028-06-30",
    }
    body.update(overrides)
    return body


def treated(patient, clinician, location, day: date, hour: int = 10) -> Session:
    """A completed treatment on a local date, as the record of it would be after the visit."""
    course = Course.objects.filter(patient=patient, status=Course.Status.ACTIVE).first() or CourseFactory(
        patient=patient
    )
    number = course.sessions.filter(status=Session.Status.COMPLETED).count() + 1
    record = TreatmentRecordFactory(
        session__patient=patient,
        session__course=course,
        session__clinician=clinician,
        session__location=location,
        session__start=ny(day, hour),
        session__cycle_number=number,
    )
    return record.session


# --- conventions: errors --------------------------------------------------------------------------


def test_no_credentials_and_a_bad_token_are_401_not_authenticated_without_fields(anon_client):
    assert_error(anon_client.get(f"{API}/patients/"), 401, "not_authenticated")
    anon_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(anon_client.get(f"{API}/patients/"), 401, "not_authenticated")


def test_a_browser_session_authenticates_too(client, front_desk_user):
    client.force_login(front_desk_user)
    assert client.get(f"{API}/patients/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/patients/{x}/",
        "/patients/{x}/preventives/",
        "/patients/{x}/diary/",
        "/patients/{x}/response/",
        "/patients/{x}/eligibility/",
        "/patients/{x}/fhir/",
        "/clinicians/{x}/",
        "/clinicians/{x}/working-hours/",
        "/clinicians/{x}/time-off/",
        "/sessions/{x}/",
    ],
)
@pytest.mark.parametrize("ident", ["unknown-uuid", "not-a-uuid", "12345"])
def test_an_unknown_or_malformed_id_is_404_not_found(clinician_client, path, ident):
    value = str(uuid.uuid4()) if ident == "unknown-uuid" else ident
    assert_error(clinician_client.get(API + path.format(x=value)), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/sessions/{x}/reschedule/",
        "/sessions/{x}/cancel/",
        "/sessions/{x}/check-in/",
        "/sessions/{x}/no-show/",
        "/sessions/{x}/complete/",
        "/review-flags/{x}/resolve/",
    ],
)
@pytest.mark.parametrize("ident", ["unknown-uuid", "not-a-uuid"])
def test_an_action_on_an_unknown_or_malformed_id_is_404_not_found(clinician_client, path, ident):
    value = str(uuid.uuid4()) if ident == "unknown-uuid" else ident
    response = clinician_client.post(API + path.format(x=value), {"start": "2027-02-01T10:00:00-05:00"})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/patients/"),
        ("put", "/protocol/"),
        ("post", "/slots/"),
        ("get", "/sessions/{session}/cancel/"),
        ("delete", "/sessions/{session}/"),
        ("post", "/due/"),
        ("post", "/notifications/"),
        ("get", "/auth/token/"),
    ],
)
def test_a_method_the_contract_does_not_name_is_405_in_the_json_shape(clinic_admin_client, method, path):
    session = SessionFactory()
    response = getattr(clinic_admin_client, method)(API + path.format(session=session.id))
    assert_error(response, 405, "method_not_allowed")


def test_malformed_json_is_400_validation_error_with_fields(front_desk_client):
    response = front_desk_client.post(f"{API}/patients/", "{not json", content_type="application/json")
    assert_error(response, 400, "validation_error")


def test_validation_errors_name_every_bad_field(front_desk_client):
    response = front_desk_client.post(f"{API}/patients/", {"mrn": "", "email": "nope", "time_zone": "Mars/Base"})
    body = assert_error(response, 400, "validation_error")
    assert {"mrn", "email", "time_zone", "given_name", "family_name"} <= set(body["fields"])


# --- conventions: pagination ----------------------------------------------------------------------


@pytest.fixture
def everything(patient, clinician, location, clinician_user):
    """At least one row behind every list endpoint."""
    session = SessionFactory(patient=patient, clinician=clinician, location=location, start=ny(date(2027, 1, 11), 10))
    Notification.objects.create(
        patient=patient,
        session=session,
        purpose=Notification.Purpose.REMINDER,
        channel=Notification.Channel.EMAIL,
        due_at=NOW + timedelta(days=1),
        dedupe_key="contract-1",
    )
    TimeOffFactory(clinician=clinician)
    ReviewFlagFactory(course=session.course)
    AuthorizationFactory(course=session.course)
    last = treated(PatientFactory(), clinician, location, date(2026, 10, 12))
    SlotOfferFactory(
        patient=last.patient, course=last.course, freed_slot__session__location=location, freed_slot__session__start=NOW
    )
    return {"session": session, "due_patient": last.patient}


LISTS = [
    "/locations/",
    "/clinicians/",
    "/clinicians/{clinician}/working-hours/",
    "/clinicians/{clinician}/time-off/",
    "/patients/",
    "/patients/{patient}/preventives/",
    "/patients/{patient}/diary/",
    "/sessions/",
    "/due/",
    "/review-flags/",
    "/notifications/",
    "/authorizations/",
    "/slot-offers/",
]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_is_paginated_with_count_next_previous_results(
    clinician_client, everything, clinician, patient, path
):
    url = API + path.format(clinician=clinician.id, patient=patient.id)
    rows = assert_page(clinician_client.get(url))
    assert rows, f"{path} should have a row in this world"
    body = clinician_client.get(url, {"page_size": 1}).json()
    assert len(body["results"]) == 1
    if body["count"] > 1:
        assert "page=2" in body["next"]
        second = clinician_client.get(body["next"]).json()
        assert second["previous"] is not None
    for row in rows:
        assert is_uuid(row["id"]) if "id" in row else is_uuid(row["patient"])


def test_page_size_is_capped_at_200(front_desk_client):
    Patient.objects.bulk_create(
        [
            Patient(mrn=f"BULK{n:04d}", given_name="A", family_name="B", date_of_birth=date(1980, 1, 1))
            for n in range(205)
        ]
    )
    body = front_desk_client.get(f"{API}/patients/", {"page_size": 1000}).json()
    assert body["count"] == 205
    assert len(body["results"]) == 200
    assert body["next"] is not None
    assert len(front_desk_client.get(body["next"]).json()["results"]) == 5


def test_a_page_past_the_end_is_404_not_found(front_desk_client):
    assert_error(front_desk_client.get(f"{API}/patients/", {"page": 99}), 404, "not_found")


# --- staff and auth -------------------------------------------------------------------------------


def test_the_token_exchange_answers_exactly_a_token(anon_client, front_desk_user):
    response = anon_client.post(f"{API}/auth/token/", {"username": "frontdesk", "password": "pw-for-tests-1"})
    assert response.status_code == 200
    assert list(response.json()) == ["token"]
    token = response.json()["token"]
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon_client.get(f"{API}/patients/").status_code == 200


def test_bad_credentials_are_400_validation_error_with_fields(anon_client, front_desk_user):
    response = anon_client.post(f"{API}/auth/token/", {"username": "frontdesk", "password": "wrong"})
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("role", ["front_desk", "clinician", "clinic_admin"])
def test_create_staff_with_password_makes_a_user_who_gets_a_token(anon_client, role):
    call_command("create_staff", "newbie", "--role", role, "--password", "s3cret-Pass!")
    response = anon_client.post(f"{API}/auth/token/", {"username": "newbie", "password": "s3cret-Pass!"})
    assert response.status_code == 200


def test_create_staff_clinician_flag_makes_the_clinician_row_listed_by_the_api(clinic_admin_client):
    call_command("create_staff", "drnew", "--role", "clinician", "--password", "s3cret-Pass!", "--clinician")
    rows = assert_page(clinic_admin_client.get(f"{API}/clinicians/"))
    [row] = rows
    assert row["user"] is not None


# --- clinic setup ---------------------------------------------------------------------------------


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


# --- patients -------------------------------------------------------------------------------------

PATIENT_FIELDS = {
    "id",
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "email",
    "phone",
    "time_zone",
    "email_opt_in",
    "sms_opt_in",
    "status",
}


def new_patient(**overrides) -> dict:
    body = {
        "mrn": "MRN-9",
        "given_name": "Grace",
        "family_name": "Hopper",
        "date_of_birth": "1970-12-09",
        "email": "grace@example.com",
        "phone": "+44 20 7946 0958",
        "time_zone": "Europe/London",
        "email_opt_in": True,
        "sms_opt_in": False,
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", ["front_desk_client", "clinician_client"])
def test_a_patient_has_the_contract_fields_and_an_e164_phone(request, role):
    client = request.getfixturevalue(role)
    response = client.post(f"{API}/patients/", new_patient())
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= PATIENT_FIELDS
    assert is_uuid(body["id"]) and is_date(body["date_of_birth"])
    assert body["phone"] == "+442079460958"
    assert body["status"] == "active"
    detail = client.get(f"{API}/patients/{body['id']}/").json()
    assert {k: detail[k] for k in PATIENT_FIELDS} == {k: body[k] for k in PATIENT_FIELDS}
    patched = client.patch(f"{API}/patients/{body['id']}/", {"phone": "+1 (212) 555-0101", "sms_opt_in": True})
    assert patched.status_code == 200
    assert (patched.json()["phone"], patched.json()["sms_opt_in"]) == ("+12125550101", True)


def test_a_national_phone_is_read_in_the_default_region(front_desk_client, settings):
    assert front_desk_client.post(f"{API}/patients/", new_patient(phone="(212) 555-0199")).json()["phone"] == (
        "+12125550199"
    )
    settings.DEFAULT_PHONE_REGION = "GB"
    response = front_desk_client.post(f"{API}/patients/", new_patient(mrn="MRN-10", phone="020 7946 0000"))
    assert response.json()["phone"] == "+442079460000"


@pytest.mark.parametrize(
    ("field", "value"), [("phone", "12"), ("phone", "call me"), ("email", "grace@"), ("time_zone", "Europe/Atlantis")]
)
def test_a_bad_phone_email_or_zone_is_400_naming_the_field(front_desk_client, patient, field, value):
    response = front_desk_client.post(f"{API}/patients/", new_patient(**{field: value}))
    assert field in assert_error(response, 400, "validation_error")["fields"]
    response = front_desk_client.patch(f"{API}/patients/{patient.id}/", {field: value})
    assert field in assert_error(response, 400, "validation_error")["fields"]


def test_a_duplicate_mrn_is_400_with_fields_mrn(front_desk_client, patient):
    response = front_desk_client.post(f"{API}/patients/", new_patient(mrn=patient.mrn))
    assert "mrn" in assert_error(response, 400, "validation_error")["fields"]
    other = front_desk_client.post(f"{API}/patients/", new_patient()).json()
    response = front_desk_client.patch(f"{API}/patients/{other['id']}/", {"mrn": patient.mrn})
    assert "mrn" in assert_error(response, 400, "validation_error")["fields"]


@pytest.mark.parametrize("query", ["Byron", "ada", "MRN-CONTRACT", "mrn-contract@example.com", "+1 212 555"])
def test_search_finds_by_name_mrn_phone_and_email(front_desk_client, query):
    found = PatientFactory(
        mrn="MRN-CONTRACT",
        given_name="Ada",
        family_name="Byron",
        email="mrn-contract@example.com",
        phone="+12125550123",
    )
    PatientFactory(
        mrn="OTHER", given_name="Alan", family_name="Turing", email="alan@example.org", phone="+447700900123"
    )
    rows = assert_page(front_desk_client.get(f"{API}/patients/", {"search": query}))
    assert [row["id"] for row in rows] == [str(found.id)]


def test_preventives_record_the_drug_dates_and_outcome(clinician_client):
    patient = PatientFactory()
    url = f"{API}/patients/{patient.id}/preventives/"
    for drug, outcome in [
        ("topiramate", "failed"),
        ("propranolol", "not_tolerated"),
        ("candesartan", "contraindicated"),
        ("amitriptyline", "ongoing"),
    ]:
        response = clinician_client.post(url, {"drug": drug, "started_on": "2025-01-01", "outcome": outcome})
        assert response.status_code == 201
        body = response.json()
        assert {"drug", "started_on", "stopped_on", "outcome"} <= set(body)
        assert body["stopped_on"] is None and body["started_on"] == "2025-01-01"
    assert len(assert_page(clinician_client.get(url))) == 4
    response = clinician_client.post(url, {"drug": "x", "started_on": "2025-01-01", "outcome": "worked"})
    assert "outcome" in assert_error(response, 400, "validation_error")["fields"]
    # failed, not_tolerated and contraindicated count as failed; ongoing does not
    assert clinician_client.get(f"{API}/patients/{patient.id}/eligibility/").json()["failed_preventives"] == 3


def test_eligibility_has_the_contract_shape(clinician_client, patient):
    body = clinician_client.get(f"{API}/patients/{patient.id}/eligibility/").json()
    assert {"chronic_migraine", "baseline", "failed_preventives", "meets_protocol", "reasons"} <= set(body)
    assert body["chronic_migraine"] is True and body["meets_protocol"] is True
    assert isinstance(body["baseline"], dict) and body["failed_preventives"] == 2 and body["reasons"] == []
    untreatable = PatientFactory()
    body = clinician_client.get(f"{API}/patients/{untreatable.id}/eligibility/").json()
    assert body["meets_protocol"] is False and body["chronic_migraine"] is False
    assert body["reasons"] and all(isinstance(r, str) for r in body["reasons"])


# --- response history -----------------------------------------------------------------------------


def test_the_diary_has_the_contract_fields_and_optional_scores(clinician_client):
    patient = PatientFactory()
    url = f"{API}/patients/{patient.id}/diary/"
    body = {
        "period_start": "2026-12-01",
        "period_end": "2026-12-28",
        "headache_days": 16,
        "migraine_days": 9,
        "acute_medication_days": 6,
    }
    response = clinician_client.post(url, body)
    assert response.status_code == 201
    out = response.json()
    assert {**body, "hit6": None, "midas": None}.items() <= out.items()
    [row] = assert_page(clinician_client.get(url))
    assert row["id"] == out["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period_end": "2027-01-01"}, "period_end"),  # 32 days
        ({"headache_days": 29}, "headache_days"),  # more days than the period
        ({"migraine_days": 17}, "migraine_days"),  # migraine > headache
        ({"hit6": 35}, "hit6"),
        ({"hit6": 79}, "hit6"),
    ],
)
def test_diary_rules_are_400_naming_the_field(clinician_client, change, field):
    patient = PatientFactory()
    body = {"period_start": "2026-12-01", "period_end": "2026-12-28", "headache_days": 16, "migraine_days": 9}
    body["acute_medication_days"] = 0
    response = clinician_client.post(f"{API}/patients/{patient.id}/diary/", {**body, **change})
    assert field in assert_error(response, 400, "validation_error")["fields"]


def test_hit6_bounds_36_and_78_are_accepted(clinician_client):
    patient = PatientFactory()
    url = f"{API}/patients/{patient.id}/diary/"
    base = {"headache_days": 16, "migraine_days": 9, "acute_medication_days": 0}
    assert clinician_client.post(url, {**base, "period_start": "2026-11-01", "period_end": "2026-11-28", "hit6": 36})
    response = clinician_client.post(
        url, {**base, "period_start": "2026-12-01", "period_end": "2026-12-28", "hit6": 78}
    )
    assert response.status_code == 201


def test_an_untreated_patients_response_is_not_started_with_a_baseline_object(clinician_client, patient):
    body = clinician_client.get(f"{API}/patients/{patient.id}/response/").json()
    assert body["status"] == "not_started"
    assert body["cycles"] == [] and body["threshold_pct"] == 30
    # API.md shows `baseline` as an object; untreated, it is the diary of the last 90 days
    assert body["baseline"]["headache_days_per_28"] == 20.0
    assert body["baseline"]["diary_days"] == 56


def test_the_response_has_the_contract_shape_per_cycle(clinician_client, patient, clinician, location):
    first = treated(patient, clinician, location, date(2027, 1, 1))
    body = clinician_client.get(f"{API}/patients/{patient.id}/response/").json()
    assert set(body) >= {"status", "baseline", "threshold_pct", "cycles"}
    assert body["status"] == "insufficient_data"  # no assessed cycle yet
    assert {"headache_days_per_28", "diary_days"} <= set(body["baseline"])
    assert isinstance(body["baseline"]["headache_days_per_28"], float)
    [cycle] = body["cycles"]
    assert {"cycle", "session", "treated_on", "headache_days_per_28", "reduction_pct", "assessment"} <= set(cycle)
    assert (cycle["cycle"], cycle["session"], cycle["treated_on"]) == (1, str(first.id), "2027-01-01")
    assert cycle["assessment"] == "insufficient_data"


@pytest.mark.parametrize(
    ("headache_days", "status", "assessment"), [(14, "responder", "benefit"), (15, "non_responder", "no_benefit")]
)
def test_the_latest_assessed_cycle_decides_the_status(
    clinician_client, _now, patient, clinician, location, headache_days, status, assessment
):
    treated(patient, clinician, location, date(2027, 1, 1))
    DiaryEntryFactory(
        patient=patient, period_start=date(2027, 1, 1), period_end=date(2027, 1, 28), headache_days=headache_days
    )
    _now.move_to(datetime(2027, 2, 1, 12, tzinfo=UTC))
    body = clinician_client.get(f"{API}/patients/{patient.id}/response/").json()
    # baseline 20/28; 14 is a 30 % reduction (benefit at the 30 % threshold), 15 is 25 %
    assert body["status"] == status
    assert body["cycles"][0]["assessment"] == assessment
    assert isinstance(body["cycles"][0]["reduction_pct"], float)


# --- slots ----------------------------------------------------------------------------------------


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


# --- sessions -------------------------------------------------------------------------------------

SESSION_FIELDS = {
    "id",
    "patient",
    "clinician",
    "location",
    "kind",
    "start",
    "end",
    "status",
    "cycle_number",
    "auto_booked",
    "created_at",
}


def assert_session(body: dict) -> dict:
    assert set(body) >= SESSION_FIELDS, SESSION_FIELDS - set(body)
    for key in ("id", "patient", "clinician", "location"):
        assert is_uuid(body[key]), key
    for key in ("start", "end", "created_at"):
        assert is_aware_datetime(body[key]), (key, body[key])
    assert isinstance(body["auto_booked"], bool)
    return body


@pytest.mark.parametrize("role", ["front_desk_client", "clinician_client"])
def test_booking_answers_201_with_the_session_lasting_session_minutes(request, role, patient, clinician, location):
    client = request.getfixturevalue(role)
    response = client.post(f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 11), 10)))
    assert response.status_code == 201, response.json()
    body = assert_session(response.json())
    assert datetime.fromisoformat(body["start"]) == ny(date(2027, 1, 11), 10)
    assert datetime.fromisoformat(body["end"]) == ny(date(2027, 1, 11), 10, 30)
    assert (body["status"], body["kind"], body["auto_booked"]) == ("booked", "treatment", False)
    assert body["cycle_number"] is None
    assert assert_session(client.get(f"{API}/sessions/{body['id']}/").json())["id"] == body["id"]


def test_a_given_end_sets_the_length_and_an_off_grid_start_is_fine(front_desk_client, patient, clinician, location):
    start = ny(date(2027, 1, 11), 10, 7)
    body = book_body(patient, clinician, location, start, end=iso(start + timedelta(minutes=45)), kind="consultation")
    response = front_desk_client.post(f"{API}/sessions/", body)
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["end"]) == start + timedelta(minutes=45)


def test_a_start_in_another_offset_is_the_same_instant(front_desk_client, patient, clinician, location):
    body = book_body(patient, clinician, location, ny(date(2027, 1, 11), 10))
    body["start"] = "2027-01-11T15:00:00Z"
    response = front_desk_client.post(f"{API}/sessions/", body)
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["start"]) == ny(date(2027, 1, 11), 10)


@pytest.mark.parametrize("start", ["2027-01-11T10:00:00", "2027-01-11T10:00", "2027-01-11 10:00:00", "2027-01-11"])
def test_a_start_without_an_offset_is_400(front_desk_client, patient, clinician, location, start):
    body = {**book_body(patient, clinician, location, ny(date(2027, 1, 11), 10)), "start": start}
    assert "start" in assert_error(front_desk_client.post(f"{API}/sessions/", body), 400, "validation_error")["fields"]
    assert not Session.objects.exists()


def test_a_start_in_the_past_is_400_for_front_desk_and_clinicians(
    front_desk_client, clinician_client, patient, clinician, location
):
    body = book_body(patient, clinician, location, NOW - timedelta(hours=1))
    for client in (front_desk_client, clinician_client):
        response = client.post(f"{API}/sessions/", body)
        assert "start" in assert_error(response, 400, "validation_error")["fields"]


def test_slot_unavailable_patient_busy_are_409_without_fields(
    front_desk_client, patient, clinician, other_clinician, location
):
    start = ny(date(2027, 1, 11), 10)
    assert front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, start)).status_code == 201
    other = make_eligible(PatientFactory())
    assert_error(
        front_desk_client.post(
            f"{API}/sessions/", book_body(other, clinician, location, start + timedelta(minutes=15))
        ),
        409,
        "slot_unavailable",
    )
    assert_error(
        front_desk_client.post(
            f"{API}/sessions/", book_body(patient, other_clinician, location, start, kind="consultation")
        ),
        409,
        "patient_busy",
    )
    # outside working hours and on time off are slot_unavailable too
    assert_error(
        front_desk_client.post(
            f"{API}/sessions/", book_body(other, clinician, location, ny(date(2027, 1, 11), 16, 45))
        ),
        409,
        "slot_unavailable",
    )
    TimeOffFactory(clinician=clinician, start=ny(date(2027, 1, 12), 0), end=ny(date(2027, 1, 13), 0))
    assert_error(
        front_desk_client.post(f"{API}/sessions/", book_body(other, clinician, location, ny(date(2027, 1, 12), 10))),
        409,
        "slot_unavailable",
    )


def test_too_soon_is_422_with_earliest_the_local_date_of_the_last_treatment_plus_min_interval(
    front_desk_client, clinician_client, patient, clinician, location
):
    # 23:30 in New York is already the next day in UTC: `earliest` counts from the local date
    treated(patient, clinician, location, date(2026, 10, 20), hour=16)
    earliest = date(2026, 10, 20) + timedelta(days=84)  # 2027-01-12
    response = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 11), 10))
    )
    body = assert_error(response, 422, "too_soon")
    assert body["earliest"] == earliest.isoformat()
    ok = front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, ny(earliest, 10)))
    assert ok.status_code == 201


def test_a_clinician_overrides_too_soon_with_a_reason_and_front_desk_gets_403(
    front_desk_client, clinician_client, patient, clinician, location
):
    treated(patient, clinician, location, date(2026, 12, 1))
    body = book_body(patient, clinician, location, ny(date(2027, 1, 11), 10), override_reason="flare, payer agreed")
    assert_error(front_desk_client.post(f"{API}/sessions/", body), 403, "permission_denied")
    assert not Session.objects.filter(status="booked").exists()
    assert clinician_client.post(f"{API}/sessions/", body).status_code == 201


def test_front_desk_sending_any_override_reason_is_403_even_when_none_is_needed(
    front_desk_client, patient, clinician, location
):
    body = book_body(patient, clinician, location, ny(date(2027, 1, 11), 10), override_reason="just in case")
    assert_error(front_desk_client.post(f"{API}/sessions/", body), 403, "permission_denied")


def test_not_eligible_is_422_with_reasons_and_a_clinician_may_override(
    front_desk_client, clinician_client, clinician, location
):
    newcomer = PatientFactory()
    body = book_body(newcomer, clinician, location, ny(date(2027, 1, 11), 10))
    out = assert_error(front_desk_client.post(f"{API}/sessions/", body), 422, "not_eligible")
    assert isinstance(out["reasons"], list) and out["reasons"]
    assert all(isinstance(r, str) for r in out["reasons"])
    body["override_reason"] = "specialist decision"
    assert clinician_client.post(f"{API}/sessions/", body).status_code == 201


def test_a_clinician_records_a_past_completed_treatment_without_too_soon_or_eligibility(
    clinician_client, front_desk_client, clinician, location
):
    newcomer = PatientFactory()  # not eligible, and treated 30 days ago already
    treated(newcomer, clinician, location, date(2026, 11, 20))
    body = book_body(
        newcomer, clinician, location, ny(date(2026, 12, 21), 10), status="completed", treatment=treatment_body()
    )
    assert_error(front_desk_client.post(f"{API}/sessions/", body), 403, "permission_denied")
    response = clinician_client.post(f"{API}/sessions/", body)
    assert response.status_code == 201, response.json()
    out = assert_session(response.json())
    assert out["status"] == "completed" and out["cycle_number"] == 2
    future = {**body, "start": iso(ny(date(2027, 1, 11), 10))}
    assert "start" in assert_error(clinician_client.post(f"{API}/sessions/", future), 400, "validation_error")["fields"]


@pytest.fixture
def booked(patient, clinician, location) -> Session:
    return SessionFactory(
        patient=patient,
        course=CourseFactory(patient=patient),
        clinician=clinician,
        location=location,
        start=ny(date(2027, 1, 11), 10),
        end=ny(date(2027, 1, 11), 10, 30),
    )


def test_the_session_list_filters_and_shows_the_contract_fields(
    front_desk_client, booked, patient, clinician, location
):
    SessionFactory(start=ny(date(2027, 2, 1), 10), kind="consultation")
    params = {
        "patient": str(patient.id),
        "clinician": str(clinician.id),
        "location": str(location.id),
        "from": "2027-01-11",
        "to": "2027-01-11",
        "status": "booked",
        "kind": "treatment",
    }
    [row] = assert_page(front_desk_client.get(f"{API}/sessions/", params))
    assert assert_session(row)["id"] == str(booked.id)
    assert assert_page(front_desk_client.get(f"{API}/sessions/", {**params, "to": "2027-01-10"})) == []
    assert len(assert_page(front_desk_client.get(f"{API}/sessions/"))) == 2


def test_reschedule_answers_200_and_may_change_the_clinician(front_desk_client, booked, other_clinician):
    response = front_desk_client.post(
        f"{API}/sessions/{booked.id}/reschedule/",
        {"start": iso(ny(date(2027, 1, 12), 14)), "clinician": str(other_clinician.id)},
    )
    assert response.status_code == 200
    body = assert_session(response.json())
    assert body["clinician"] == str(other_clinician.id)
    assert datetime.fromisoformat(body["start"]) == ny(date(2027, 1, 12), 14)
    assert datetime.fromisoformat(body["end"]) == ny(date(2027, 1, 12), 14, 30)


def test_reschedule_runs_the_booking_checks(front_desk_client, booked, patient, clinician, location):
    url = f"{API}/sessions/{booked.id}/reschedule/"
    assert_error(front_desk_client.post(url, {"start": "2027-01-12T14:00:00"}), 400, "validation_error")
    assert_error(front_desk_client.post(url, {"start": iso(NOW - timedelta(hours=1))}), 400, "validation_error")
    assert_error(front_desk_client.post(url, {"start": iso(ny(date(2027, 1, 12), 18))}), 409, "slot_unavailable")
    SessionFactory(clinician=clinician, location=location, start=ny(date(2027, 1, 13), 10))
    assert_error(front_desk_client.post(url, {"start": iso(ny(date(2027, 1, 13), 10, 15))}), 409, "slot_unavailable")
    treated(patient, clinician, location, date(2026, 10, 20))  # earliest next: 2027-01-12
    body = assert_error(front_desk_client.post(url, {"start": iso(ny(date(2027, 1, 11), 14))}), 422, "too_soon")
    assert body["earliest"] == "2027-01-12"


def test_reschedule_takes_a_clinicians_override_reason_like_booking(
    front_desk_client, clinician_client, booked, patient, clinician, location
):
    # "same checks as booking": so the same way past too_soon, and front desk sending one → 403
    treated(patient, clinician, location, date(2026, 10, 20))  # earliest next: 2027-01-12
    url = f"{API}/sessions/{booked.id}/reschedule/"
    body = {"start": iso(ny(date(2027, 1, 11), 14)), "override_reason": "flare, payer agreed"}
    assert_error(front_desk_client.post(url, body), 403, "permission_denied")
    response = clinician_client.post(url, body)
    assert response.status_code == 200, response.json()
    assert datetime.fromisoformat(response.json()["start"]) == ny(date(2027, 1, 11), 14)
    assert Session.objects.get(pk=booked.pk).override_reason == "flare, payer agreed"


def test_cancel_answers_200_and_skips_pending_reminders_as_session_cancelled(
    front_desk_client, patient, clinician, location
):
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 20), 10))
    )
    session_id = created.json()["id"]
    call_command("run_jobs")
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": session_id, "status": "pending"}))
    assert any(r["purpose"] == "reminder" for r in rows)
    response = front_desk_client.post(f"{API}/sessions/{session_id}/cancel/", {"reason": "patient called"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": session_id}))
    reminders = [r for r in rows if r["purpose"] == "reminder"]
    assert reminders and all((r["status"], r["skip_reason"]) == ("skipped", "session_cancelled") for r in reminders)
    # a cancelled session cannot be cancelled again
    assert_error(
        front_desk_client.post(f"{API}/sessions/{session_id}/cancel/", {"reason": "x"}), 409, "invalid_transition"
    )


def test_check_in_only_on_the_local_date(front_desk_client, _now, booked):
    url = f"{API}/sessions/{booked.id}/check-in/"
    _now.move_to(datetime(2027, 1, 11, 4, 30, tzinfo=UTC))  # 23:30 on the 10th in New York
    assert_error(front_desk_client.post(url), 409, "invalid_transition")
    _now.move_to(ny(date(2027, 1, 11), 0, 5))
    response = front_desk_client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "checked_in"


def test_no_show_only_after_the_start(front_desk_client, _now, booked):
    url = f"{API}/sessions/{booked.id}/no-show/"
    _now.move_to(ny(date(2027, 1, 11), 9, 59))
    assert_error(front_desk_client.post(url), 409, "invalid_transition")
    _now.move_to(ny(date(2027, 1, 11), 10, 1))
    response = front_desk_client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "no_show"


def test_complete_needs_checked_in_whatever_the_hour_and_a_clinician(front_desk_client, clinician_client, _now, booked):
    url = f"{API}/sessions/{booked.id}/complete/"
    body = {"treatment": treatment_body(), "adverse_events": [], "notes": ""}
    assert_error(clinician_client.post(url, body), 409, "invalid_transition")  # still booked
    _now.move_to(ny(date(2027, 1, 11), 8))
    assert front_desk_client.post(f"{API}/sessions/{booked.id}/check-in/").status_code == 200
    assert_error(front_desk_client.post(url, body), 403, "permission_denied")
    response = clinician_client.post(url, body)  # 08:00, before the booked start: fine
    assert response.status_code == 200, response.json()
    out = assert_session(response.json())
    assert (out["status"], out["cycle_number"]) == ("completed", 1)


def test_complete_takes_every_muscle_kind_and_severity_named_by_the_contract(clinician_client, _now, booked):
    _now.move_to(ny(date(2027, 1, 11), 9))
    booked.status = Session.Status.CHECKED_IN
    booked.save()
    kinds = [
        "neck_pain",
        "ptosis",
        "dysphagia",
        "injection_site_pain",
        "headache_flare",
        "muscle_weakness",
        "breathing_difficulty",
        "other",
    ]
    severities = ["mild", "moderate", "severe", "serious"]
    events = [{"kind": kind, "severity": severities[i % 4], "note": ""} for i, kind in enumerate(kinds)]
    response = clinician_client.post(
        f"{API}/sessions/{booked.id}/complete/",
        {"treatment": treatment_body(), "adverse_events": events, "notes": "ok"},
    )
    assert response.status_code == 200, response.json()


def test_complete_refuses_a_treatment_without_a_body_an_expired_lot_and_too_many_units(clinician_client, _now, booked):
    _now.move_to(ny(date(2027, 1, 11), 9))
    booked.status = Session.Status.CHECKED_IN
    booked.save()
    url = f"{API}/sessions/{booked.id}/complete/"
    assert_error(clinician_client.post(url, {"adverse_events": [], "notes": ""}), 400, "validation_error")
    expired = treatment_body(lot_expiry="2027-01-10")
    assert_error(clinician_client.post(url, {"treatment": expired}), 400, "validation_error")
    heavy = treatment_body(units_by_muscle={**STANDARD, "trapezius": 100})
    assert_error(clinician_client.post(url, {"treatment": heavy}), 422, "dose_limit")
    bad_kind = {"treatment": treatment_body(), "adverse_events": [{"kind": "rash", "severity": "mild", "note": ""}]}
    assert_error(clinician_client.post(url, bad_kind), 400, "validation_error")
    assert Session.objects.get(pk=booked.pk).status == "checked_in"


# --- due list and review --------------------------------------------------------------------------

DUE_FIELDS = {"patient", "course", "last_treatment", "due_from", "due_by", "overdue", "authorization"}


def test_the_due_list_rows_have_the_contract_fields_and_dates(front_desk_client, clinician, location):
    last = treated(PatientFactory(), clinician, location, date(2026, 10, 20), hour=20)  # 01:00 UTC the next day
    [row] = assert_page(front_desk_client.get(f"{API}/due/"))
    assert set(row) >= DUE_FIELDS
    assert row["patient"] == str(last.patient_id) and row["course"] == str(last.course_id)
    assert row["last_treatment"] == "2026-10-20"
    assert row["due_from"] == "2027-01-12"  # + min_interval_days
    assert row["due_by"] == "2027-01-26"  # + interval_days + window_days
    assert row["overdue"] is False
    # The default profile asks for no prior authorisation.
    assert row["authorization"] == {"status": "not_required", "valid_to": None, "treatments_left": None}


def test_within_days_counts_from_the_locations_today_and_includes_the_overdue(front_desk_client, clinician, location):
    # today is 2027-01-04 in New York; default within_days=14 reaches due_from 2027-01-18
    edge = treated(PatientFactory(), clinician, location, date(2026, 10, 26))  # due_from 2027-01-18
    beyond = treated(PatientFactory(), clinician, location, date(2026, 10, 27))  # due_from 2027-01-19
    late = treated(PatientFactory(), clinician, location, date(2026, 9, 1))  # due_by 2026-12-08: overdue
    rows = {r["patient"]: r for r in assert_page(front_desk_client.get(f"{API}/due/"))}
    assert set(rows) == {str(edge.patient_id), str(late.patient_id)}
    assert rows[str(late.patient_id)]["overdue"] is True
    rows = assert_page(front_desk_client.get(f"{API}/due/", {"within_days": 15}))
    assert str(beyond.patient_id) in {r["patient"] for r in rows}
    assert {r["patient"] for r in assert_page(front_desk_client.get(f"{API}/due/", {"within_days": 0}))} == {
        str(late.patient_id)
    }


def test_overdue_starts_the_day_after_due_by(front_desk_client, clinician, location):
    on_time = treated(PatientFactory(), clinician, location, date(2026, 9, 28))  # due_by 2027-01-04: today
    over = treated(PatientFactory(), clinician, location, date(2026, 9, 27))  # due_by 2027-01-03
    rows = {r["patient"]: r["overdue"] for r in assert_page(front_desk_client.get(f"{API}/due/"))}
    assert rows == {str(on_time.patient_id): False, str(over.patient_id): True}


def test_a_future_treatment_booked_takes_a_patient_off_the_due_list(front_desk_client, clinician, location):
    last = treated(make_eligible(PatientFactory()), clinician, location, date(2026, 10, 20))
    assert len(assert_page(front_desk_client.get(f"{API}/due/"))) == 1
    response = front_desk_client.post(
        f"{API}/sessions/", book_body(last.patient, clinician, location, ny(date(2027, 1, 12), 10))
    )
    assert response.status_code == 201
    assert assert_page(front_desk_client.get(f"{API}/due/")) == []


FLAG_FIELDS = {"id", "patient", "kind", "cycle", "details", "status", "raised_at"}


def test_review_flags_have_the_contract_fields(clinician_client, front_desk_client):
    flag = ReviewFlagFactory(details={"baseline": 20.0, "cycle": 12.5})
    [row] = assert_page(clinician_client.get(f"{API}/review-flags/", {"status": "open", "kind": "no_benefit"}))
    assert set(row) >= FLAG_FIELDS
    assert (row["id"], row["patient"], row["kind"], row["cycle"], row["status"]) == (
        str(flag.id),
        str(flag.patient_id),
        "no_benefit",
        3,
        "open",
    )
    assert row["details"] == {"baseline": 20.0, "cycle": 12.5}
    assert is_aware_datetime(row["raised_at"])
    assert_error(front_desk_client.get(f"{API}/review-flags/"), 403, "permission_denied")


@pytest.mark.parametrize("decision", ["continue", "stop", "adjust_dose", "other"])
def test_each_decision_resolves_a_flag(clinician_client, decision):
    flag = ReviewFlagFactory()
    response = clinician_client.post(f"{API}/review-flags/{flag.id}/resolve/", {"decision": decision, "note": "seen"})
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"]) == (str(flag.id), "resolved")
    assert ReviewFlag.objects.get(pk=flag.pk).decision == decision
    stopped = Course.objects.get(pk=flag.course_id).status == Course.Status.STOPPED
    assert stopped is (decision == "stop")


def test_stop_cancels_the_courses_future_sessions(clinician_client, booked):
    flag = ReviewFlagFactory(course=booked.course)
    assert (
        clinician_client.post(f"{API}/review-flags/{flag.id}/resolve/", {"decision": "stop", "note": ""}).status_code
        == 200
    )
    assert clinician_client.get(f"{API}/sessions/{booked.id}/").json()["status"] == "cancelled"


# --- prior authorisation --------------------------------------------------------------------------

AUTHORIZATION_FIELDS = {
    "id",
    "course",
    "payer",
    "reference",
    "status",
    "treatments_approved",
    "units_approved",
    "valid_from",
    "valid_to",
    "notes",
    "treatments_used",
    "treatments_left",
}
REAUTHORIZATION_FIELDS = {
    "patient",
    "course",
    "protocol",
    "diagnosis_code",
    "baseline",
    "cycles",
    "treatments",
    "outcome",
    "hit6",
    "midas",
}
DUE_AUTHORIZATION_STATUSES = {"ok", "missing", "expiring", "not_required"}


@pytest.fixture
def authorised(patient, clinician, location):
    """A course on a payer's profile that requires authorisation, last treated on 2026-10-20."""
    last = treated(patient, clinician, location, date(2026, 10, 20))
    us = Protocol.objects.create(name="US payer", requires_authorization=True)
    Course.objects.filter(pk=last.course_id).update(protocol=us)
    return Course.objects.get(pk=last.course_id)


def test_an_authorisation_has_the_contract_fields_and_counts_treatments(front_desk_client, authorised):
    url = f"{API}/courses/{authorised.pk}/authorizations/"
    body = {
        "payer": "Aetna",
        "reference": "PA-1",
        "status": "approved",
        "treatments_approved": 2,
        "units_approved": 310,
        "valid_from": "2026-10-01",
        "valid_to": "2027-03-31",
        "notes": "",
    }
    response = front_desk_client.post(url, body)
    assert response.status_code == 201, response.json()
    out = response.json()
    assert set(out) >= AUTHORIZATION_FIELDS
    assert {k: out[k] for k in body} == body
    assert is_uuid(out["id"]) and out["course"] == str(authorised.pk)
    assert (out["treatments_used"], out["treatments_left"]) == (1, 1)  # the treatment of 2026-10-20
    [row] = assert_page(front_desk_client.get(url))
    assert row["id"] == out["id"]
    detail = front_desk_client.get(f"{API}/authorizations/{out['id']}/").json()
    assert set(detail) >= AUTHORIZATION_FIELDS
    patched = front_desk_client.patch(f"{API}/authorizations/{out['id']}/", {"status": "denied"})
    assert patched.status_code == 200 and patched.json()["status"] == "denied"


def test_valid_to_before_valid_from_is_400_validation_error(front_desk_client, authorised):
    body = {"payer": "Aetna", "status": "approved", "treatments_approved": 2}
    response = front_desk_client.post(
        f"{API}/courses/{authorised.pk}/authorizations/", {**body, "valid_from": "2027-02-01", "valid_to": "2027-01-01"}
    )
    assert "valid_to" in assert_error(response, 400, "validation_error")["fields"]


def test_a_treatment_outside_the_approval_is_422_authorization_required(
    front_desk_client, clinician_client, authorised, patient, clinician, location
):
    start = ny(date(2027, 1, 12), 10)
    body = assert_error(
        front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, start)),
        422,
        "authorization_required",
    )
    assert "fields" not in body
    overridden = book_body(patient, clinician, location, start, override_reason="payer agreed by phone")
    assert clinician_client.post(f"{API}/sessions/", overridden).status_code == 201


def test_the_expiring_list_and_the_due_rows_authorization(front_desk_client, authorised):
    AuthorizationFactory(course=authorised, valid_from=date(2026, 10, 1), valid_to=date(2027, 1, 29))
    rows = assert_page(front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": 30}))
    assert len(rows) == 1 and set(rows[0]) >= AUTHORIZATION_FIELDS
    assert assert_page(front_desk_client.get(f"{API}/authorizations/", {"status": "approved"}))
    [row] = assert_page(front_desk_client.get(f"{API}/due/"))
    assert set(row["authorization"]) == {"status", "valid_to", "treatments_left"}
    assert row["authorization"] == {"status": "expiring", "valid_to": "2027-01-29", "treatments_left": 1}
    assert row["authorization"]["status"] in DUE_AUTHORIZATION_STATUSES


def test_the_reauthorization_packet_and_letter_are_for_clinicians(clinician_client, front_desk_client, authorised):
    url = f"{API}/courses/{authorised.pk}/reauthorization/"
    assert set(clinician_client.get(url).json()) >= REAUTHORIZATION_FIELDS
    pdf = clinician_client.get(url, {"format": "pdf"})
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    letter = clinician_client.get(f"{API}/courses/{authorised.pk}/letter/", {"format": "pdf"})
    assert (letter.status_code, letter["Content-Type"]) == (200, "application/pdf")
    for path in (url, f"{API}/courses/{authorised.pk}/letter/"):
        assert_error(front_desk_client.get(path), 403, "permission_denied")
        assert_error(front_desk_client.get(path, {"format": "pdf"}), 403, "permission_denied")


# --- notifications --------------------------------------------------------------------------------

NOTIFICATION_FIELDS = {"id", "patient", "session", "purpose", "channel", "due_at", "status", "sent_at", "skip_reason"}


def test_notifications_list_the_contract_fields_and_never_a_body(front_desk_client, patient, clinician, location):
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 20), 10))
    )
    call_command("run_jobs")
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"patient": str(patient.id)}))
    assert rows
    for row in rows:
        assert set(row) >= NOTIFICATION_FIELDS
        assert not {"body", "subject", "text", "html"} & set(row)
        assert is_uuid(row["id"]) and row["patient"] == str(patient.id)
        assert is_aware_datetime(row["due_at"])
        assert row["sent_at"] is None or is_aware_datetime(row["sent_at"])
    reminders = [r for r in rows if r["purpose"] == "reminder"]
    assert {r["session"] for r in reminders} == {created.json()["id"]}


def test_n_days_before_is_n_times_24_hours_across_a_dst_change(front_desk_client, patient, clinician, location):
    # Monday 2027-03-15 10:00 EDT; the clocks went forward on 2027-03-14.
    start = ny(date(2027, 3, 15), 10).astimezone(UTC)  # UTC: timedelta arithmetic on it is real time
    created = front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, start))
    assert created.status_code == 201
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": created.json()["id"]}))
    due = {(r["channel"], datetime.fromisoformat(r["due_at"])) for r in rows if r["purpose"] == "reminder"}
    assert ("email", start - timedelta(days=7)) in due  # 09:00 EST on 2027-03-08, not 10:00
    assert ("email", start - timedelta(days=1)) in due


def test_a_reminder_whose_time_has_passed_at_booking_is_skipped_too_late(
    front_desk_client, patient, clinician, location
):
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 7), 10))
    )
    call_command("run_jobs")
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": created.json()["id"]}))
    seven_days = [r for r in rows if r["purpose"] == "reminder" and r["status"] == "skipped"]
    assert seven_days and {r["skip_reason"] for r in seven_days} == {"too_late"}


@pytest.mark.parametrize(("email_opt_in", "channel"), [(True, "email"), (False, "sms")])
def test_the_booking_confirmation_goes_by_email_with_consent_else_sms(
    front_desk_client, patient, clinician, location, email_opt_in, channel
):
    Patient.objects.filter(pk=patient.pk).update(email_opt_in=email_opt_in, sms_opt_in=True)
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 20), 10))
    )
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": created.json()["id"]}))
    confirmations = [r for r in rows if r["purpose"] == "booking_confirmation"]
    assert [r["channel"] for r in confirmations] == [channel]


def test_a_bad_webhook_signature_is_403_in_the_error_shape(anon_client, settings):
    settings.TWILIO_AUTH_TOKEN = "secret"
    response = anon_client.post(
        f"{API}/webhooks/sms/",
        "MessageSid=SM1&From=%2B12125550123&Body=STOP",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE="bogus",
    )
    assert_error(response, 403, "permission_denied")


# --- operations -----------------------------------------------------------------------------------


def test_healthz_is_exactly_database_and_broker_without_auth_or_redirect(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"} or set(response.json()) == {"database", "broker"}
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] in ("ok", "unavailable")


def test_the_fhir_export_is_a_bundle_of_the_named_resources(clinician_client, patient, clinician, location):
    treated(patient, clinician, location, date(2026, 12, 1))
    response = clinician_client.get(f"{API}/patients/{patient.id}/fhir/")
    assert response.status_code == 200
    bundle = json.loads(response.content)
    assert bundle["resourceType"] == "Bundle"
    types = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert types.count("Patient") == 1
    assert types.count("Appointment") == 1
    assert types.count("Observation") == 2
    assert types.count("Procedure") == 1


# --- slot offers ------------------------------------------------------------------------------------

SLOT_OFFER_FIELDS = {"id", "session", "patient", "start", "status", "offered_at", "responded_at"}


@pytest.fixture
def freed_slot(front_desk_client, clinician, location, django_capture_on_commit_callbacks):
    """Two patients due on 13 January (treated 12 and 13 October) and Dr Lee's treatment at 10:00 that
    day, cancelled by the front desk through the API: (the cancelled session's id, {patient id: offer})."""
    due = [treated(PatientFactory(), clinician, location, day) for day in (date(2026, 10, 12), date(2026, 10, 13))]
    other = treated(PatientFactory(), clinician, location, date(2026, 10, 14), hour=11)
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(other.patient, clinician, location, ny(date(2027, 1, 13), 10))
    )
    session_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = front_desk_client.post(f"{API}/sessions/{session_id}/cancel/", {"reason": "travelling"})
    assert cancelled.status_code == 200
    rows = assert_page(front_desk_client.get(f"{API}/slot-offers/", {"session": session_id}))
    assert {r["patient"] for r in rows} == {str(s.patient_id) for s in due}
    return session_id, {r["patient"]: r for r in rows}


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


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/patients/{patient}/diary/"),
        ("post", "/patients/{patient}/diary/"),
        ("get", "/patients/{patient}/response/"),
        ("get", "/patients/{patient}/eligibility/"),
        ("get", "/patients/{patient}/preventives/"),
        ("post", "/patients/{patient}/preventives/"),
        ("get", "/patients/{patient}/fhir/"),
        ("get", "/review-flags/"),
        ("post", "/review-flags/{flag}/resolve/"),
        ("post", "/sessions/{session}/complete/"),
    ],
)
def test_front_desk_gets_403_on_clinical_endpoints(front_desk_client, patient, booked, method, path):
    flag = ReviewFlagFactory()
    url = API + path.format(patient=patient.id, flag=flag.id, session=booked.id)
    assert_error(getattr(front_desk_client, method)(url, {}), 403, "permission_denied")


@pytest.mark.parametrize(
    "path",
    [
        "/patients/",
        "/sessions/",
        "/slots/?location={location}",
        "/due/",
        "/notifications/",
        "/protocol/",
        "/slot-offers/",
    ],
)
def test_front_desk_reads_the_front_desk_endpoints(front_desk_client, location, path):
    assert front_desk_client.get(API + path.format(location=location.id)).status_code == 200


# --- the OpenAPI schema ---------------------------------------------------------------------------

CONTRACT_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/locations/": {"get", "post"},
    "/api/v1/clinicians/": {"get", "post"},
    "/api/v1/clinicians/{id}/": {"get", "patch"},
    "/api/v1/clinicians/{id}/working-hours/": {"get", "post"},
    "/api/v1/clinicians/{id}/time-off/": {"get", "post"},
    "/api/v1/protocol/": {"get", "patch"},
    "/api/v1/protocols/": {"get", "post"},
    "/api/v1/protocols/{id}/": {"get", "patch"},
    "/api/v1/courses/": {"get"},
    "/api/v1/courses/{id}/": {"get", "patch"},
    "/api/v1/courses/{id}/authorizations/": {"get", "post"},
    "/api/v1/courses/{id}/reauthorization/": {"get"},
    "/api/v1/courses/{id}/letter/": {"get"},
    "/api/v1/authorizations/": {"get"},
    "/api/v1/authorizations/{id}/": {"get", "patch"},
    "/api/v1/patients/": {"get", "post"},
    "/api/v1/patients/{id}/": {"get", "patch"},
    "/api/v1/patients/{id}/preventives/": {"get", "post"},
    "/api/v1/patients/{id}/eligibility/": {"get"},
    "/api/v1/patients/{id}/diary/": {"get", "post"},
    "/api/v1/patients/{id}/response/": {"get"},
    "/api/v1/patients/{id}/fhir/": {"get"},
    "/api/v1/slots/": {"get"},
    "/api/v1/sessions/": {"get", "post"},
    "/api/v1/sessions/{id}/": {"get"},
    "/api/v1/sessions/{id}/reschedule/": {"post"},
    "/api/v1/sessions/{id}/cancel/": {"post"},
    "/api/v1/sessions/{id}/check-in/": {"post"},
    "/api/v1/sessions/{id}/no-show/": {"post"},
    "/api/v1/sessions/{id}/complete/": {"post"},
    "/api/v1/sessions/{id}/treatment/": {"get"},
    "/api/v1/sessions/{id}/adverse-events/": {"post"},
    "/api/v1/due/": {"get"},
    "/api/v1/review-flags/": {"get"},
    "/api/v1/review-flags/{id}/resolve/": {"post"},
    "/api/v1/notifications/": {"get"},
    "/api/v1/slot-offers/": {"get"},
    "/api/v1/webhooks/sms/": {"post"},
}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node:
        merged: dict = {"properties": {}}
        for part in node["allOf"]:
            merged["properties"].update(_resolve(schema, part).get("properties", {}))
        return merged
    return node


def _response_properties(schema: dict, path: str, method: str, status: str = "") -> dict:
    responses = schema["paths"][path][method]["responses"]
    status = status or next(s for s in ("200", "201") if s in responses)
    content = responses[status]["content"]
    node = _resolve(schema, next(iter(content.values()))["schema"])
    if node.get("type") == "array":
        node = _resolve(schema, node["items"])
    props = node.get("properties", {})
    if set(props) >= {"count", "results"}:
        node = _resolve(schema, props["results"]["items"])
        props = node.get("properties", {})
    return props


def test_the_schema_names_every_contract_path_and_method(schema):
    for path, methods in CONTRACT_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), (path, set(schema["paths"][path]))


@pytest.mark.parametrize(
    ("path", "method", "fields"),
    [
        ("/api/v1/locations/", "get", {"id", "name", "time_zone"}),
        ("/api/v1/clinicians/", "get", {"id", "name", "user", "locations"}),
        ("/api/v1/clinicians/{id}/working-hours/", "get", {"location", "weekday", "start_time", "end_time"}),
        ("/api/v1/clinicians/{id}/time-off/", "get", {"start", "end", "reason"}),
        ("/api/v1/protocol/", "get", set(PROTOCOL_DEFAULTS)),
        ("/api/v1/protocols/", "get", {"id", "name", "is_default", *PROTOCOL_DEFAULTS, *PROFILE_DEFAULTS}),
        (
            "/api/v1/courses/",
            "get",
            {"id", "patient", "protocol", "status", "started_on", "cycles_completed", "last_treatment", "due_from"}
            | {"due_by"},
        ),
        (
            "/api/v1/sessions/{id}/treatment/",
            "get",
            {"units_by_muscle", "total_units", "sites", "units_wasted", "vials", "lot_number", "lot_expiry"}
            | {"deviation_reason", "billing", "adverse_events", "notes"},
        ),
        ("/api/v1/patients/", "get", PATIENT_FIELDS),
        ("/api/v1/patients/{id}/preventives/", "get", {"drug", "started_on", "stopped_on", "outcome"}),
        (
            "/api/v1/patients/{id}/eligibility/",
            "get",
            {"chronic_migraine", "baseline", "failed_preventives", "meets_protocol", "reasons", "medication_overuse"},
        ),
        (
            "/api/v1/patients/{id}/diary/",
            "get",
            {"period_start", "period_end", "headache_days", "migraine_days", "acute_medication_days", "hit6", "midas"},
        ),
        ("/api/v1/patients/{id}/response/", "get", {"status", "baseline", "threshold_pct", "cycles"}),
        ("/api/v1/slots/", "get", {"clinician", "location", "start", "end"}),
        ("/api/v1/sessions/", "get", SESSION_FIELDS),
        ("/api/v1/sessions/{id}/", "get", SESSION_FIELDS),
        ("/api/v1/sessions/", "post", SESSION_FIELDS),
        ("/api/v1/due/", "get", DUE_FIELDS),
        ("/api/v1/courses/{id}/authorizations/", "get", AUTHORIZATION_FIELDS),
        ("/api/v1/courses/{id}/authorizations/", "post", AUTHORIZATION_FIELDS),
        ("/api/v1/authorizations/", "get", AUTHORIZATION_FIELDS),
        ("/api/v1/authorizations/{id}/", "get", AUTHORIZATION_FIELDS),
        ("/api/v1/authorizations/{id}/", "patch", AUTHORIZATION_FIELDS),
        ("/api/v1/courses/{id}/reauthorization/", "get", REAUTHORIZATION_FIELDS),
        ("/api/v1/review-flags/", "get", FLAG_FIELDS),
        ("/api/v1/notifications/", "get", NOTIFICATION_FIELDS),
        ("/api/v1/slot-offers/", "get", SLOT_OFFER_FIELDS),
        ("/api/v1/auth/token/", "post", {"token"}),
    ],
)
def test_the_schema_names_the_contract_fields(schema, path, method, fields):
    props = _response_properties(schema, path, method)
    assert fields <= set(props), fields - set(props)


def test_the_schema_describes_the_inputs(schema):
    def request_props(path, method):
        content = schema["paths"][path][method]["requestBody"]["content"]
        return set(_resolve(schema, content["application/json"]["schema"]).get("properties", {}))

    assert {"patient", "clinician", "location", "start", "kind", "override_reason"} <= request_props(
        "/api/v1/sessions/", "post"
    )
    assert {"start", "clinician"} <= request_props("/api/v1/sessions/{id}/reschedule/", "post")
    assert {"reason"} <= request_props("/api/v1/sessions/{id}/cancel/", "post")
    assert {"treatment", "adverse_events", "notes"} <= request_props("/api/v1/sessions/{id}/complete/", "post")
    assert {"decision", "note"} <= request_props("/api/v1/review-flags/{id}/resolve/", "post")
    assert {"username", "password"} <= request_props("/api/v1/auth/token/", "post")


def test_the_schema_lists_the_query_parameters(schema):
    def params(path):
        return {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}

    assert {"search", "page", "page_size"} <= params("/api/v1/patients/")
    assert {"within_days", "page", "page_size"} <= params("/api/v1/due/")
    assert {"status", "expiring_within_days", "page", "page_size"} <= params("/api/v1/authorizations/")
    assert {"status", "kind"} <= params("/api/v1/review-flags/")
    assert {"patient", "session", "status"} <= params("/api/v1/notifications/")
    assert {"session", "patient", "status", "page", "page_size"} <= params("/api/v1/slot-offers/")


def test_the_docs_page_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


def _list_path(path: str) -> str:
    return "/api/v1" + re.sub(r"\{\w+\}", "{id}", path)


@pytest.mark.parametrize("path", LISTS)
def test_the_schema_describes_every_list_as_paginated(schema, path):
    operation = schema["paths"][_list_path(path)]["get"]
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}
    node = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(node["properties"]) >= PAGE_KEYS


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/locations/",
        "/api/v1/clinicians/",
        "/api/v1/clinicians/{id}/working-hours/",
        "/api/v1/clinicians/{id}/time-off/",
        "/api/v1/patients/",
        "/api/v1/patients/{id}/preventives/",
        "/api/v1/patients/{id}/diary/",
        "/api/v1/sessions/",
        "/api/v1/courses/{id}/authorizations/",
    ],
)
def test_the_schema_describes_creates_as_201(schema, path):
    assert set(schema["paths"][path]["post"]["responses"]) & {"200", "201"} == {"201"}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/v1/sessions/", "post", {"400", "401", "403", "409", "422"}),
        ("/api/v1/sessions/{id}/", "get", {"401", "403", "404"}),
        ("/api/v1/sessions/{id}/reschedule/", "post", {"400", "404", "409", "422"}),
        ("/api/v1/sessions/{id}/cancel/", "post", {"404", "409"}),
        ("/api/v1/sessions/{id}/check-in/", "post", {"404", "409"}),
        ("/api/v1/sessions/{id}/no-show/", "post", {"404", "409"}),
        ("/api/v1/sessions/{id}/complete/", "post", {"400", "403", "404", "409", "422"}),
        ("/api/v1/slots/", "get", {"400", "401"}),
        ("/api/v1/protocol/", "patch", {"400", "401", "403"}),
        ("/api/v1/review-flags/{id}/resolve/", "post", {"400", "403", "404", "409"}),
        ("/api/v1/due/", "get", {"400", "401", "403"}),
        ("/api/v1/courses/{id}/authorizations/", "post", {"400", "401", "403", "404"}),
        ("/api/v1/authorizations/", "get", {"400", "401", "403"}),
        ("/api/v1/authorizations/{id}/", "patch", {"400", "404"}),
        ("/api/v1/courses/{id}/reauthorization/", "get", {"401", "403", "404"}),
        ("/api/v1/courses/{id}/letter/", "get", {"401", "403", "404"}),
        ("/api/v1/notifications/", "get", {"400", "401", "403"}),
        ("/api/v1/slot-offers/", "get", {"400", "401", "403"}),
        ("/api/v1/auth/token/", "post", {"400", "429"}),
        ("/api/v1/webhooks/sms/", "post", {"403"}),
    ],
)
def test_the_schema_describes_the_error_statuses_in_the_error_shape(schema, path, method, statuses):
    responses = schema["paths"][path][method]["responses"]
    assert statuses <= set(responses), statuses - set(responses)
    for status in statuses:
        content = responses[status]["content"]["application/json"]["schema"]
        assert content == {"$ref": "#/components/schemas/Error"}, (status, content)

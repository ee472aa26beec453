"""Inputs that answered 500 answer a clear 4xx (API) or a page (web), and change nothing.

Each case is one of the review's findings: far dates (years 1 and 9999), a NUL in a search,
100,000 nested `[`, a form-encoded body, `within_days=²`, a zone typed as "New York".
"""

import json
from datetime import UTC, datetime

import pytest
import time_machine

from scheduling.models import Location, Session
from tests.factories import ClinicianFactory, LocationFactory, PatientFactory, SessionFactory
from tests.scheduling.conftest import make_eligible, open_weekdays, treatment_body

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(datetime(2027, 1, 4, 12, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def location():
    return LocationFactory(name="Manhattan", time_zone="America/New_York")


@pytest.fixture
def clinician(location, clinician_user):
    return open_weekdays(ClinicianFactory(name="Dr Lee", user=clinician_user), location)


@pytest.fixture
def patient():
    return make_eligible(PatientFactory())


def assert_400(response, field: str | None = None) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "validation_error"
    if field is not None:
        assert field in body["fields"], body
    return body


# --- API -------------------------------------------------------------------------------------------


def test_a_session_list_from_year_1_to_year_9999_is_400(front_desk_client, location):
    response = front_desk_client.get(f"{API}/sessions/", {"from": "0001-01-01", "to": "9999-12-31"})
    body = assert_400(response)
    assert {"from", "to"} <= set(body["fields"])


def test_free_slots_from_9999_12_31_are_400(front_desk_client, clinician, location):
    assert_400(front_desk_client.get(f"{API}/slots/", {"from": "9999-12-31", "location": str(location.id)}), "from")


def test_a_booking_at_9999_12_31_23_30_is_400_and_books_nothing(front_desk_client, patient, clinician, location):
    body = {
        "patient": str(patient.id),
        "clinician": str(clinician.id),
        "location": str(location.id),
        "start": "9999-12-31T23:30:00+00:00",
    }
    assert_400(front_desk_client.post(f"{API}/sessions/", body), "start")
    assert not Session.objects.exists()


def test_a_past_treatment_at_0001_01_01_is_400_and_records_nothing(clinician_client, patient, clinician, location):
    body = {
        "patient": str(patient.id),
        "clinician": str(clinician.id),
        "location": str(location.id),
        "start": "0001-01-01T00:30Z",
        "status": "completed",
        "treatment": treatment_body(lot_expiry="2028-06-30"),
    }
    assert_400(clinician_client.post(f"{API}/sessions/", body, format="json"), "start")
    assert not Session.objects.exists()


@pytest.mark.parametrize("start", ["1899-12-31T09:00:00-05:00", "2201-01-01T09:00:00-05:00"])
def test_datetimes_just_outside_1900_to_2200_are_400(front_desk_client, patient, clinician, location, start):
    body = {"patient": str(patient.id), "clinician": str(clinician.id), "location": str(location.id), "start": start}
    assert_400(front_desk_client.post(f"{API}/sessions/", body), "start")


@pytest.mark.parametrize("field", ["date_of_birth"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_patient_dates_outside_1900_to_2200_are_400(front_desk_client, field, value):
    body = {"mrn": "M-1", "given_name": "Ada", "family_name": "Ng", "date_of_birth": "1980-01-02", field: value}
    assert_400(front_desk_client.post(f"{API}/patients/", body), field)


def test_a_diary_period_in_year_9999_is_400(clinician_client, patient):
    body = {"period_start": "9999-12-01", "period_end": "9999-12-28", "headache_days": 3, "migraine_days": 1}
    assert_400(clinician_client.post(f"{API}/patients/{patient.id}/diary/", body), "period_start")


def test_a_search_with_a_nul_is_400_naming_search(front_desk_client):
    PatientFactory(given_name="Ann")
    assert_400(front_desk_client.get(f"{API}/patients/", {"search": "a\x00b"}), "search")


def test_a_json_body_of_100000_nested_brackets_is_400(front_desk_client):
    response = front_desk_client.generic(
        "POST", f"{API}/patients/", "[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert_400(response)


def test_a_json_body_nested_past_the_limit_is_400_and_a_normal_one_parses(front_desk_client):
    flat = {"mrn": "M-2", "given_name": "Ada", "family_name": "Ng", "date_of_birth": "1980-01-02"}
    deep: list = []
    for _ in range(30):
        deep = [deep]
    # An unknown key is ignored, but not one nested 30 deep: the parser refuses it before any serializer.
    assert_400(front_desk_client.post(f"{API}/patients/", {**flat, "extra": deep}, format="json"))
    assert front_desk_client.post(f"{API}/patients/", flat, format="json").status_code == 201


def test_a_lone_surrogate_in_a_json_string_is_400(front_desk_client):
    raw = '{"mrn": "M-3", "given_name": "\\ud800", "family_name": "Ng", "date_of_birth": "1980-01-02"}'
    assert_400(front_desk_client.generic("POST", f"{API}/patients/", raw, content_type="application/json"))


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_a_body_that_is_not_json_is_415_unsupported_media_type(front_desk_client, content_type):
    response = front_desk_client.generic(
        "POST", f"{API}/patients/", "mrn=M-4&given_name=Ada&family_name=Ng&date_of_birth=1980-01-02", content_type
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not response.json().get("fields")


def test_the_sms_webhook_still_reads_its_form_body(anon_client, settings):
    settings.TWILIO_AUTH_TOKEN = "secret"
    response = anon_client.post(
        f"{API}/webhooks/sms/",
        "MessageSid=SM1&From=%2B12125550100&Body=STOP",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 403  # read, then refused for its missing signature: not 415
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("page", ["0", "-1", "x", "²"])
def test_a_page_number_that_is_not_1_or_more_is_400_naming_page(front_desk_client, page):
    assert_400(front_desk_client.get(f"{API}/patients/", {"page": page}), "page")


@pytest.mark.parametrize("zone", ["New York", "localtime", "Factory", "posixrules", "right/UTC"])
def test_a_location_zone_that_is_not_iana_is_400(clinic_admin_client, zone):
    assert_400(clinic_admin_client.post(f"{API}/locations/", {"name": "Uptown", "time_zone": zone}), "time_zone")
    assert not Location.objects.filter(name="Uptown").exists()


def test_an_iana_link_name_is_accepted_as_a_zone(clinic_admin_client):
    assert (
        clinic_admin_client.post(f"{API}/locations/", {"name": "Uptown", "time_zone": "US/Eastern"}).status_code == 201
    )


# --- web -------------------------------------------------------------------------------------------


@pytest.fixture
def desk(front_desk_user):
    from django.test import Client

    client = Client()
    client.force_login(front_desk_user)
    return client


@pytest.mark.parametrize("within", ["²", "٣", "1e3", "-1", "99999999999999999999"])
def test_the_due_page_takes_any_within_days(desk, within):
    response = desk.get("/due/", {"within_days": within})
    assert response.status_code == 200
    assert response.context["within_days"] == 14


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2027-02-30", "²"])
def test_the_day_view_takes_any_date(desk, clinician, location, day):
    response = desk.get("/day/", {"date": day, "location": str(location.id)})
    assert response.status_code == 200
    assert response.context["day"].isoformat() == "2027-01-04"  # today, in New York


@pytest.mark.parametrize("first", ["9999-12-31", "0001-01-01"])
def test_the_booking_and_reschedule_pages_take_any_from_date(desk, patient, clinician, location, first):
    assert desk.get(f"/patients/{patient.id}/book/", {"from": first}).status_code == 200
    session = SessionFactory(patient=patient, clinician=clinician, location=location)
    assert desk.get(f"/sessions/{session.id}/reschedule/", {"from": first}).status_code == 200


def test_a_booking_typed_for_9999_12_31_is_a_form_error(desk, patient, clinician, location):
    response = desk.post(
        f"/patients/{patient.id}/book/",
        {"kind": "treatment", "clinician": str(clinician.id), "on_date": "9999-12-31", "at_time": "23:30"},
    )
    assert response.status_code == 200
    assert "on_date" in response.context["form"].errors
    assert not Session.objects.filter(patient=patient).exists()


def test_the_web_search_with_a_nul_searches_without_it(desk):
    PatientFactory(given_name="Ann", family_name="Bell")
    response = desk.get("/patients/", {"q": "Be\x00ll"})
    assert response.status_code == 200
    assert [p.family_name for p in response.context["patients"]] == ["Bell"]


def test_json_in_a_query_string_is_just_text(front_desk_client):
    response = front_desk_client.get(f"{API}/patients/", {"search": json.dumps({"$gt": ""})})
    assert response.status_code == 200

"""What the contract tests share: the pinned clock, the world they build, the helpers that read
API.md's formats, and the field and path lists (only here, DEVELOPERS.md: the contract tests own them)."""

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.timezones import local_datetime
from cycles.models import Course, Protocol, TreatmentRecord
from notifications.models import Notification
from scheduling.models import Session
from tests.factories import (
    AuthorizationFactory,
    ClinicianFactory,
    CourseFactory,
    LocationFactory,
    PatientFactory,
    ReviewFlagFactory,
    SessionFactory,
    SlotOfferFactory,
    TimeOffFactory,
    TreatmentRecordFactory,
)
from tests.scheduling.conftest import make_eligible, open_weekdays

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


DUE_FIELDS = {"patient", "course", "last_treatment", "due_from", "due_by", "overdue", "authorization"}

FLAG_FIELDS = {"id", "patient", "kind", "cycle", "details", "status", "raised_at"}

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


NOTIFICATION_FIELDS = {"id", "patient", "session", "purpose", "channel", "due_at", "status", "sent_at", "skip_reason"}

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


def _list_path(path: str) -> str:
    return "/api/v1" + re.sub(r"\{\w+\}", "{id}", path)

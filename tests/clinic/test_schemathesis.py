"""Schemathesis against /api/schema/: every operation, every check, no server error and no schema failure.

Bounded so that `make test` stays fast: seed SEED, EXAMPLES examples per operation in the
fuzzing phase (plus the examples and coverage phases Schemathesis derives from the schema),
positive and negative data, generated deterministically. Requests go in-process to the
WSGI application on the test database (no server, no network) as a superuser, who holds
every role, so every operation runs its code instead of stopping at a 403; the
authorisation of each role is tests/clinic/test_authorization_matrix.py's job.

Path ids are those of a small clinic made here, so operations under `{id}` reach their
object (random UUIDs would only ever be 404s). Every check is on (Schemathesis's
defaults, none excluded): not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance, response_headers_conformance,
positive_data_acceptance, negative_data_rejection, use_after_free,
ensure_resource_availability, missing_required_header, ignored_auth,
unsupported_method, allow_header_conformance.
"""

import uuid
from datetime import time, timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from cycles.models import Protocol, ReviewFlag
from scheduling.models import Session
from tests.conftest import FIXTURE_TOKEN_ISSUED
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
    UserFactory,
    WorkingHoursFactory,
)

SEED = 20271204
EXAMPLES = 8

pytestmark = pytest.mark.django_db
SCHEMA_URL = "/api/schema/?format=json"
# The clinic every `{id}` names, with fixed ids so that the configuration can name them before any test runs.
IDS = {
    "location": uuid.UUID("5c4e0000-0000-4000-8000-000000000001"),
    "clinician": uuid.UUID("5c4e0000-0000-4000-8000-000000000002"),
    "hours_pk": uuid.UUID("5c4e0000-0000-4000-8000-000000000003"),
    "time_off_pk": uuid.UUID("5c4e0000-0000-4000-8000-000000000004"),
    "patient": uuid.UUID("5c4e0000-0000-4000-8000-000000000005"),
    "session": uuid.UUID("5c4e0000-0000-4000-8000-000000000006"),
    "flag": uuid.UUID("5c4e0000-0000-4000-8000-000000000007"),
    "protocol": uuid.UUID("5c4e0000-0000-4000-8000-000000000008"),
    "course": uuid.UUID("5c4e0000-0000-4000-8000-000000000009"),
    "authorization": uuid.UUID("5c4e0000-0000-4000-8000-00000000000a"),
    "offer": uuid.UUID("5c4e0000-0000-4000-8000-00000000000b"),
}
TOKEN = "5c4e" * 10  # the superuser's API token in the test database
ID_OWNERS = (
    ("/api/v1/patients/", "patient"),
    ("/api/v1/sessions/", "session"),
    ("/api/v1/clinicians/", "clinician"),
    ("/api/v1/locations/", "location"),
    ("/api/v1/review-flags/", "flag"),
    ("/api/v1/protocols/", "protocol"),
    ("/api/v1/courses/", "course"),
    ("/api/v1/authorizations/", "authorization"),
    ("/api/v1/slot-offers/", "offer"),
)


def _id_for(path: str) -> str:
    owner = next((key for prefix, key in ID_OWNERS if path.startswith(prefix)), None)
    assert owner, f"no object for {{id}} in {path}: add one to IDS and world()"
    return str(IDS[owner])


# API.md rules no JSON Schema can state (a field against another field, against the clinic's state or
# against the clinical rules): a request the schema calls valid may break them, and the API then answers
# as API.md says. For these operations only, positive_data_acceptance takes those documented answers;
# every other check, and this one everywhere else, is as Schemathesis ships it.
_SAME_AS_BOOKING = (
    ["400", "422"],
    "a start in the past, an end before the start, the treatment template → 400; too_soon, not_eligible, "
    "dose_limit, authorization_required → 422",
)
DOCUMENTED_REFUSALS = {
    ("POST", "/api/v1/auth/token/"): (["400"], "bad credentials → 400 validation_error"),
    ("POST", "/api/v1/auth/totp/confirm/"): (["400"], "a wrong code, or nothing to confirm → 400 fields.otp"),
    ("POST", "/api/v1/clinicians/"): (["400"], "the user and the locations named must exist"),
    ("PATCH", "/api/v1/clinicians/{id}/"): (["400"], "the user and the locations named must exist"),
    ("POST", "/api/v1/clinicians/{id}/time-off/"): (["400"], "end after start"),
    ("POST", "/api/v1/clinicians/{id}/working-hours/"): (["400"], "end_time after start_time; the location exists"),
    ("POST", "/api/v1/locations/"): (["400"], "location names are unique"),
    ("PATCH", "/api/v1/locations/{id}/"): (["400"], "location names are unique"),
    ("POST", "/api/v1/patients/"): (["400"], "bad phone or email → 400; duplicate MRN → 400 fields.mrn"),
    ("PATCH", "/api/v1/patients/{id}/"): (["400"], "bad phone or email → 400; duplicate MRN → 400 fields.mrn"),
    ("POST", "/api/v1/patients/{id}/diary/"): (
        ["400"],
        "period ≤ 31 days; days within the period; migraine ≤ headache; overlapping periods → 400",
    ),
    ("POST", "/api/v1/patients/{id}/preventives/"): (["400"], "stopped_on not before started_on"),
    ("PATCH", "/api/v1/protocol/"): (["400"], "max_units ≥ standard_units; min_interval_days ≤ interval_days"),
    ("GET", "/api/v1/slots/"): (["400"], "to − from ≤ 31 days (else 400); to not before from; the location exists"),
    ("GET", "/api/v1/sessions/"): (["400"], "the location named exists"),
    ("POST", "/api/v1/protocols/"): (
        ["400"],
        "names unique; max_units ≥ standard_units; min_interval_days ≤ interval_days",
    ),
    ("PATCH", "/api/v1/protocols/{id}/"): (
        ["400"],
        "names unique; max_units ≥ standard_units; min_interval_days ≤ interval_days; the default is moved, not unset",
    ),
    ("PATCH", "/api/v1/courses/{id}/"): (
        ["400", "409"],
        "a course resumes only if the patient has no other active one",
    ),
    ("POST", "/api/v1/courses/{id}/authorizations/"): (
        ["400"],
        "valid_to not before valid_from; an approved authorisation covers at least one treatment",
    ),
    ("PATCH", "/api/v1/authorizations/{id}/"): (
        ["400"],
        "valid_to not before valid_from; an approved authorisation covers at least one treatment",
    ),
    ("POST", "/api/v1/sessions/"): _SAME_AS_BOOKING,
    ("POST", "/api/v1/sessions/{id}/reschedule/"): _SAME_AS_BOOKING,
    ("POST", "/api/v1/sessions/{id}/complete/"): _SAME_AS_BOOKING,
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # Schemathesis's own default


def _operations(paths: dict) -> list[dict]:
    operations = []
    for path, methods in paths.items():
        parameters = {name: str(IDS[name]) for name in ("hours_pk", "time_off_pk") if f"{{{name}}}" in path}
        if "{id}" in path:
            parameters["id"] = _id_for(path)
        for method in methods:
            entry = {"include-name": f"{method.upper()} {path}"}
            if parameters:
                entry["parameters"] = {f"path.{k}": v for k, v in parameters.items()}
            refused = DOCUMENTED_REFUSALS.get((method.upper(), path))
            if refused:
                entry["checks"] = {"positive_data_acceptance": {"expected-statuses": ACCEPTED + refused[0]}}
            if len(entry) > 1:
                operations.append(entry)
    return operations


def _load():
    app = get_wsgi_application()
    paths = schemathesis.openapi.from_wsgi(SCHEMA_URL, app).raw_schema["paths"]
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Token {TOKEN}"},
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none", "mode": "all"},
            "operations": _operations(paths),
        }
    )
    return schemathesis.openapi.from_wsgi(SCHEMA_URL, app, config=config)


schema = _load()
# Fields that name another row: in a case meant to be valid they name the world's rows, as a client's would
# (a random UUID is well formed but names nothing, and the API rightly refuses it). Negative cases keep theirs.
REFERENCES = {
    "patient": "patient",
    "clinician": "clinician",
    "location": "location",
    "session": "session",
    "protocol": "protocol",
    "course": "course",
}


@schema.hook
def map_case(context, case):
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    for part in (case.body, case.query):
        if not isinstance(part, dict):
            continue
        for name, owner in REFERENCES.items():
            if name in part:
                part[name] = str(IDS[owner])
        if "locations" in part:
            part["locations"] = [str(IDS["location"])]
        if "user" in part:
            part["user"] = None
    return case


@pytest.fixture
def world(db):
    """Requests go to the WSGI application on this thread's connection, inside the test's transaction;
    Django closes connections after each request, which would end it (its test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    location = LocationFactory(id=IDS["location"], name="Schema Clinic", time_zone="America/New_York")
    clinician = ClinicianFactory(id=IDS["clinician"], name="Dr Schema", locations=[location])
    WorkingHoursFactory(id=IDS["hours_pk"], clinician=clinician, location=location, weekday=0)
    for day in range(1, 7):
        WorkingHoursFactory(clinician=clinician, location=location, weekday=day, start_time=time(9), end_time=time(17))
    TimeOffFactory(id=IDS["time_off_pk"], clinician=clinician, start=timezone.now() + timedelta(days=60))
    patient = PatientFactory(id=IDS["patient"], mrn="SCHEMA-1")
    Protocol.objects.create(id=IDS["protocol"], name="Schema payer", requires_authorization=True)
    course = CourseFactory(id=IDS["course"], patient=patient)
    AuthorizationFactory(id=IDS["authorization"], course=course)
    SessionFactory(
        id=IDS["session"],
        patient=patient,
        course=course,
        clinician=clinician,
        location=location,
        start=timezone.now() + timedelta(days=3),
    )
    ReviewFlagFactory(id=IDS["flag"], course=course, kind=ReviewFlag.Kind.OVERDUE, cycle=1)
    other = PatientFactory(mrn="SCHEMA-2")
    SlotOfferFactory(id=IDS["offer"], patient=other, course=CourseFactory(patient=other))
    user = UserFactory(username="schemathesis", is_superuser=True, is_staff=True)
    Token.objects.create(key=TOKEN, user=user)
    Token.objects.filter(key=TOKEN).update(created=FIXTURE_TOKEN_ISSUED)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_the_schema_says(case, world):
    case.call_and_validate()


def test_every_id_in_the_schema_names_an_object_of_the_world(world):
    for path in schema.raw_schema["paths"]:
        if "{id}" in path:
            _id_for(path)
    assert Session.objects.filter(id=IDS["session"]).exists()

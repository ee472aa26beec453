"""API.md's OpenAPI schema: every contract path, field, input, parameter and error."""

import pytest

from tests.contract.common import (
    AUTHORIZATION_FIELDS,
    CONTRACT_PATHS,
    DUE_FIELDS,
    FLAG_FIELDS,
    LISTS,
    NOTIFICATION_FIELDS,
    PAGE_KEYS,
    PATIENT_FIELDS,
    PROFILE_DEFAULTS,
    PROTOCOL_DEFAULTS,
    REAUTHORIZATION_FIELDS,
    SESSION_FIELDS,
    SLOT_OFFER_FIELDS,
    _list_path,
    _resolve,
    _response_properties,
)

pytestmark = pytest.mark.django_db


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
    assert {"location", "clinician", "from", "to", "kind"} <= params("/api/v1/slots/")
    assert {"patient", "clinician", "location", "from", "to", "status", "kind", "page", "page_size"} <= params(
        "/api/v1/sessions/"
    )


def test_the_docs_page_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


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

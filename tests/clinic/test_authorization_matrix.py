"""Who may do what: every operation of /api/schema/ × anonymous, front desk, clinician, clinic admin.

The expected status of each is in EXPECTED, the one table; an operation the schema describes without
a row there fails `test_every_operation_in_the_schema_has_a_row`, so a new endpoint cannot go unseen.
Each request names real objects (a patient, a session, a clinician...) and sends an empty JSON body,
so a role that may act gets past the permission check and answers what an empty body deserves
(400, or 2xx where nothing is needed); a role that may not gets 403 first, and no credentials 401.

The rules (DESIGN.md §6, API.md): every endpoint needs a login except the token exchange and the
SMS webhook (signed by the provider instead). Clinical data (diary, response, eligibility,
preventives, FHIR, review flags, completing a session) is clinicians' only. Clinic set-up
(locations, clinicians, hours, time off, the protocol) is read by every role and written by clinic
admins only. Front desk and clinic admins book and move sessions and see patients and notifications.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK
from cycles.models import ReviewFlag
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

pytestmark = pytest.mark.django_db
ROLES = ("anonymous", FRONT_DESK, CLINICIAN, CLINIC_ADMIN)

# (anonymous, front_desk, clinician, clinic_admin) for an empty JSON body on real objects.
EXPECTED = {
    # Signing in: open to all; the empty body is a validation error. Logout and TOTP need a login.
    "POST /api/v1/auth/token/": (400, 400, 400, 400),
    "POST /api/v1/auth/logout/": (401, 204, 204, 204),
    "POST /api/v1/auth/totp/": (401, 201, 201, 201),
    "POST /api/v1/auth/totp/confirm/": (401, 400, 400, 400),
    # Clinic set-up: every staff role reads, clinic admins write.
    "GET /api/v1/locations/": (401, 200, 200, 200),
    "POST /api/v1/locations/": (401, 403, 403, 400),
    "GET /api/v1/locations/{id}/": (401, 200, 200, 200),
    "PATCH /api/v1/locations/{id}/": (401, 403, 403, 200),
    "GET /api/v1/clinicians/": (401, 200, 200, 200),
    "POST /api/v1/clinicians/": (401, 403, 403, 400),
    "GET /api/v1/clinicians/{id}/": (401, 200, 200, 200),
    "PATCH /api/v1/clinicians/{id}/": (401, 403, 403, 200),
    "GET /api/v1/clinicians/{id}/working-hours/": (401, 200, 200, 200),
    "POST /api/v1/clinicians/{id}/working-hours/": (401, 403, 403, 400),
    "GET /api/v1/clinicians/{id}/working-hours/{hours_pk}/": (401, 200, 200, 200),
    "DELETE /api/v1/clinicians/{id}/working-hours/{hours_pk}/": (401, 403, 403, 204),
    "GET /api/v1/clinicians/{id}/time-off/": (401, 200, 200, 200),
    "POST /api/v1/clinicians/{id}/time-off/": (401, 403, 403, 400),
    "GET /api/v1/clinicians/{id}/time-off/{time_off_pk}/": (401, 200, 200, 200),
    "DELETE /api/v1/clinicians/{id}/time-off/{time_off_pk}/": (401, 403, 403, 204),
    "GET /api/v1/protocol/": (401, 200, 200, 200),
    "PATCH /api/v1/protocol/": (401, 403, 403, 200),
    "GET /api/v1/protocols/": (401, 200, 200, 200),
    "POST /api/v1/protocols/": (401, 403, 403, 400),
    "GET /api/v1/protocols/{id}/": (401, 200, 200, 200),
    "PATCH /api/v1/protocols/{id}/": (401, 403, 403, 200),
    # Courses: every staff role reads them; only a clinician changes a course's protocol or pauses it.
    "GET /api/v1/courses/": (401, 200, 200, 200),
    "GET /api/v1/courses/{id}/": (401, 200, 200, 200),
    "PATCH /api/v1/courses/{id}/": (401, 403, 200, 403),
    # Prior authorisation: front desk and clinicians (API.md); the packet and letter carry clinical figures.
    "GET /api/v1/courses/{id}/authorizations/": (401, 200, 200, 200),
    "POST /api/v1/courses/{id}/authorizations/": (401, 400, 400, 400),
    "GET /api/v1/authorizations/": (401, 200, 200, 200),
    "GET /api/v1/authorizations/{id}/": (401, 200, 200, 200),
    "PATCH /api/v1/authorizations/{id}/": (401, 200, 200, 200),
    "GET /api/v1/courses/{id}/reauthorization/": (401, 403, 200, 403),
    "GET /api/v1/courses/{id}/letter/": (401, 403, 200, 403),
    # Patients: demographics and contact for every staff role.
    "GET /api/v1/patients/": (401, 200, 200, 200),
    "POST /api/v1/patients/": (401, 400, 400, 400),
    "GET /api/v1/patients/{id}/": (401, 200, 200, 200),
    "PATCH /api/v1/patients/{id}/": (401, 200, 200, 200),
    # Clinical: clinicians only (front desk → 403, DESIGN.md §6; clinic admins are not clinicians).
    "GET /api/v1/patients/{id}/diary/": (401, 403, 200, 403),
    "POST /api/v1/patients/{id}/diary/": (401, 403, 400, 403),
    "GET /api/v1/patients/{id}/preventives/": (401, 403, 200, 403),
    "POST /api/v1/patients/{id}/preventives/": (401, 403, 400, 403),
    "GET /api/v1/patients/{id}/response/": (401, 403, 200, 403),
    "GET /api/v1/patients/{id}/eligibility/": (401, 403, 200, 403),
    "GET /api/v1/patients/{id}/fhir/": (401, 403, 200, 403),
    "GET /api/v1/review-flags/": (401, 403, 200, 403),
    "POST /api/v1/review-flags/{id}/resolve/": (401, 403, 400, 403),
    # Sessions: every staff role books and moves them; completing one is a clinician's.
    "GET /api/v1/slots/": (401, 200, 200, 200),
    "GET /api/v1/sessions/": (401, 200, 200, 200),
    "POST /api/v1/sessions/": (401, 400, 400, 400),
    "GET /api/v1/sessions/{id}/": (401, 200, 200, 200),
    "POST /api/v1/sessions/{id}/reschedule/": (401, 400, 400, 400),
    "POST /api/v1/sessions/{id}/cancel/": (401, 200, 200, 200),
    "POST /api/v1/sessions/{id}/check-in/": (401, 409, 409, 409),
    "POST /api/v1/sessions/{id}/no-show/": (401, 409, 409, 409),
    "POST /api/v1/sessions/{id}/complete/": (401, 403, 409, 403),
    # The treatment record and adverse events are clinical (the world's session has no record yet → 404).
    "GET /api/v1/sessions/{id}/treatment/": (401, 403, 404, 403),
    "POST /api/v1/sessions/{id}/adverse-events/": (401, 403, 400, 403),
    # Slot offers: staff see them and answer for a patient on the phone (the world's slot is long gone → 409).
    "GET /api/v1/slot-offers/": (401, 200, 200, 200),
    "POST /api/v1/slot-offers/{id}/accept/": (401, 409, 409, 409),
    "POST /api/v1/slot-offers/{id}/decline/": (401, 200, 200, 200),
    "GET /api/v1/due/": (401, 200, 200, 200),
    "GET /api/v1/notifications/": (401, 200, 200, 200),
    # The provider's webhook: no login, a signature instead (none here → 403).
    "POST /api/v1/webhooks/sms/": (403, 403, 403, 403),
}


def _operations() -> list[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(f"{method.upper()} {path}" for path, methods in schema["paths"].items() for method in methods)


OPERATIONS = _operations()


@pytest.fixture
def world():
    location = LocationFactory(name="Matrix Clinic", time_zone="America/New_York")
    clinician = ClinicianFactory(name="Dr Matrix", locations=[location])
    hours = WorkingHoursFactory(clinician=clinician, location=location)
    time_off = TimeOffFactory(clinician=clinician)
    patient = PatientFactory()
    course = CourseFactory(patient=patient)
    session = SessionFactory(patient=patient, course=course, clinician=clinician, location=location)
    flag = ReviewFlagFactory(course=course, kind=ReviewFlag.Kind.OVERDUE, cycle=1)
    authorization = AuthorizationFactory(course=course)
    offer = SlotOfferFactory(patient=patient, course=course)
    return {
        "/api/v1/protocols/{id}": course.protocol_id,
        "/api/v1/courses/{id}": course.id,
        "/api/v1/authorizations/{id}": authorization.id,
        "/api/v1/slot-offers/{id}": offer.id,
        "/api/v1/patients/{id}": patient.id,
        "/api/v1/sessions/{id}": session.id,
        "/api/v1/clinicians/{id}": clinician.id,
        "/api/v1/locations/{id}": location.id,
        "/api/v1/review-flags/{id}": flag.id,
        "{hours_pk}": hours.id,
        "{time_off_pk}": time_off.id,
    }


def _url(path: str, world: dict) -> str:
    for prefix, value in world.items():
        if prefix.startswith("/") and path.startswith(prefix):
            path = path.replace("{id}", str(value), 1)
        elif not prefix.startswith("/"):
            path = path.replace(prefix, str(value))
    assert "{" not in path, f"no object for {path}: add one to world()"
    return path


def _client(role: str) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        user = UserFactory(username=f"matrix-{role}", role=role)
        token = Token.objects.create(user=user)
        Token.objects.filter(pk=token.pk).update(created=FIXTURE_TOKEN_ISSUED)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_every_operation_in_the_schema_has_a_row():
    assert sorted(EXPECTED) == OPERATIONS


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_role_gets_the_status_of_the_table(world, operation, role):
    method, path = operation.split(" ", 1)
    client = _client(role)
    url = _url(path, world)
    response = client.generic(method, url, "{}" if method in ("POST", "PATCH", "PUT") else "", "application/json")
    if operation not in EXPECTED:
        pytest.fail(f"{operation} has no row in EXPECTED: say who may call it")
    expected = EXPECTED[operation][ROLES.index(role)]
    assert response.status_code == expected, (operation, role, response.status_code, response.content[:300])
    if expected == 401:
        assert response.json()["code"] == "not_authenticated"
    if expected == 403:
        assert response.json()["code"] == "permission_denied"

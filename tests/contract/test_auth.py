"""API.md, Staff and auth and the roles: tokens, and who may call what."""

import pytest
from django.core.management import call_command

from tests.contract.common import (
    API,
    assert_error,
    assert_page,
)
from tests.factories import ReviewFlagFactory

pytestmark = pytest.mark.django_db


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

"""API tokens expire API_TOKEN_TTL_HOURS after issue, and logout revokes them (API.md, Security)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clinic.roles import FRONT_DESK
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


@pytest.fixture
def desk():
    return UserFactory(username="desk", role=FRONT_DESK)


def _token(client) -> str:
    response = client.post("/api/v1/auth/token/", {"username": "desk", "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_works_until_12_hours_after_issue_then_answers_401(anon_client, desk, settings):
    assert settings.API_TOKEN_TTL_HOURS == 12
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = _token(anon_client)
        clock.shift(timedelta(hours=11, minutes=59))
        assert _with(token).get("/api/v1/patients/").status_code == 200
        clock.shift(timedelta(minutes=1))
        expired = _with(token).get("/api/v1/patients/")
        assert expired.status_code == 401
        assert expired.json()["code"] == "not_authenticated"
        assert "expired" in expired.json()["detail"]
        assert not Token.objects.filter(key=token).exists()
        fresh = _token(anon_client)
        assert fresh != token
        assert _with(fresh).get("/api/v1/patients/").status_code == 200


def test_the_lifetime_follows_api_token_ttl_hours(anon_client, desk, settings):
    settings.API_TOKEN_TTL_HOURS = 1
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = _token(anon_client)
        clock.shift(timedelta(minutes=61))
        assert _with(token).get("/api/v1/patients/").status_code == 401


def test_asking_again_before_expiry_gives_the_same_token_and_after_it_a_new_one(anon_client, desk):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = _token(anon_client)
        clock.shift(timedelta(hours=6))
        assert _token(anon_client) == first
        clock.shift(timedelta(hours=6))
        assert _token(anon_client) != first


def test_logout_revokes_the_callers_token_with_204(anon_client, desk):
    token = _token(anon_client)
    client = _with(token)
    response = client.post("/api/v1/auth/logout/")
    assert response.status_code == 204
    assert response.content == b""
    after = client.get("/api/v1/patients/")
    assert after.status_code == 401
    assert after.json()["code"] == "not_authenticated"
    assert not Token.objects.filter(key=token).exists()


def test_logout_without_credentials_is_401(anon_client):
    response = anon_client.post("/api/v1/auth/logout/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_logout_of_a_browser_session_ends_it(client, desk):
    client.force_login(desk)
    assert client.post("/api/v1/auth/logout/", content_type="application/json").status_code == 204
    assert "_auth_user_id" not in client.session

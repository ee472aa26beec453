"""POST /api/v1/auth/token/: tokens for staff, 400 for bad credentials, 429 once locked out."""

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token

from clinic.roles import CLINICIAN
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/token/"
PASSWORD = "pw-for-tests-1"


@pytest.fixture
def user():
    return UserFactory(username="drlee", role=CLINICIAN)


def test_good_credentials_get_a_token_that_authenticates(anon_client, user):
    response = anon_client.post(URL, {"username": "drlee", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(key=token).user == user
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon_client.get("/api/v1/patients/").status_code == 200


def test_asking_twice_returns_the_same_token(anon_client, user):
    first = anon_client.post(URL, {"username": "drlee", "password": PASSWORD}).json()["token"]
    second = anon_client.post(URL, {"username": "drlee", "password": PASSWORD}).json()["token"]
    assert first == second


@pytest.mark.parametrize(
    "body",
    [{"username": "drlee", "password": "wrong"}, {"username": "nobody", "password": PASSWORD}],
)
def test_bad_credentials_are_400_validation_error(anon_client, user, body):
    response = anon_client.post(URL, body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "token" not in response.json()


def test_missing_fields_are_400_with_the_fields_named(anon_client):
    response = anon_client.post(URL, {})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"username", "password"}


def test_an_inactive_user_gets_no_token(anon_client, user):
    user.is_active = False
    user.save()
    assert anon_client.post(URL, {"username": "drlee", "password": PASSWORD}).status_code == 400


def test_repeated_failures_lock_the_account_with_429_throttled_even_for_the_right_password(anon_client, user, settings):
    limit = settings.AXES_FAILURE_LIMIT
    codes = [anon_client.post(URL, {"username": "drlee", "password": f"wrong{i}"}).status_code for i in range(limit)]
    assert codes[: limit - 1] == [400] * (limit - 1)
    assert codes[-1] == 429  # the failure that reaches the limit is already answered as a lockout
    locked = anon_client.post(URL, {"username": "drlee", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"
    assert int(locked["Retry-After"]) > 0
    assert not Token.objects.filter(user=user).exists()


def test_a_lockout_of_one_user_does_not_lock_another(anon_client, user, settings):
    UserFactory(username="drpatel", role=CLINICIAN)
    for i in range(settings.AXES_FAILURE_LIMIT + 1):
        anon_client.post(URL, {"username": "drlee", "password": f"wrong{i}"})
    assert anon_client.post(URL, {"username": "drpatel", "password": PASSWORD}).status_code == 200


@override_settings(AXES_ENABLED=False)
def test_the_scoped_throttle_answers_429_throttled_with_retry_after(anon_client, user):
    # AUTH_TOKEN_THROTTLE defaults to 10/min per client address.
    responses = [anon_client.post(URL, {"username": "drlee", "password": "wrong"}) for _ in range(11)]
    assert [r.status_code for r in responses[:10]] == [400] * 10
    assert responses[10].status_code == 429
    assert responses[10].json()["code"] == "throttled"
    assert int(responses[10]["Retry-After"]) > 0


def test_the_web_login_locks_out_too_with_a_plain_429_page(client, user, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(settings.LOGIN_URL, {"username": "drlee", "password": f"wrong{i}"})
    response = client.post(settings.LOGIN_URL, {"username": "drlee", "password": PASSWORD})
    assert response.status_code == 429
    assert not response["Content-Type"].startswith("application/json")
    assert "_auth_user_id" not in client.session

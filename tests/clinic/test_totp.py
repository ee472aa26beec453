"""TOTP two-factor sign-in (django-otp): the API's token login and enrolment, and the web login's second step."""

import re
from base64 import b32decode
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK
from tests.conftest import _client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pw-for-tests-1"


def code(device: TOTPDevice, at=None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = (at or timezone.now()).timestamp()
    return f"{totp.token():06d}"


def code_for_secret(secret: str) -> str:
    totp = TOTP(b32decode(secret))
    totp.time = timezone.now().timestamp()
    return f"{totp.token():06d}"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def mfa(settings):
    settings.MFA_REQUIRED_ROLES = [CLINICIAN, CLINIC_ADMIN]
    return settings


@pytest.fixture
def doctor():
    return UserFactory(username="drlee", role=CLINICIAN)


@pytest.fixture
def device(doctor):
    return TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)


def _token(client, otp=None, username="drlee"):
    body = {"username": username, "password": PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return client.post(TOKEN_URL, body)


def test_mfa_is_off_on_the_embedded_default_and_in_the_existing_tests(settings, anon_client, doctor):
    assert settings.MFA_REQUIRED_ROLES == []
    assert _token(anon_client).status_code == 200


def test_a_clinician_in_mfa_required_roles_without_a_device_gets_no_token(mfa, anon_client, doctor):
    response = _token(anon_client)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "authenticator" in response.json()["detail"]
    assert not Token.objects.exists()


def test_a_role_outside_mfa_required_roles_signs_in_with_the_password(mfa, anon_client):
    UserFactory(username="desk", role=FRONT_DESK)
    assert _token(anon_client, username="desk").status_code == 200


def test_with_a_device_a_token_needs_the_current_code(mfa, anon_client, device, clock):
    missing = _token(anon_client)
    assert missing.status_code == 400
    assert missing.json()["code"] == "validation_error"
    assert list(missing.json()["fields"]) == ["otp"]
    clock.shift(timedelta(seconds=5))  # django-otp slows down repeated misses: 1 s after the first
    wrong = _token(anon_client, otp=code(device, timezone.now() + timedelta(minutes=5)))
    assert wrong.status_code == 400
    assert list(wrong.json()["fields"]) == ["otp"]
    assert not Token.objects.exists()
    clock.shift(timedelta(seconds=5))
    right = _token(anon_client, otp=code(device))
    assert right.status_code == 200
    assert Token.objects.get(key=right.json()["token"]).user == device.user


def test_a_code_works_once(mfa, anon_client, device, clock):
    used = code(device)
    assert _token(anon_client, otp=used).status_code == 200
    Token.objects.all().delete()
    replay = _token(anon_client, otp=used)
    assert replay.status_code == 400
    assert "otp" in replay.json()["fields"]


def test_a_code_for_the_right_user_and_the_wrong_password_is_still_400_without_otp_fields(mfa, anon_client, device):
    response = anon_client.post(TOKEN_URL, {"username": "drlee", "password": "wrong", "otp": code(device)})
    assert response.status_code == 400
    assert "otp" not in response.json()["fields"]


def test_wrong_codes_count_towards_the_lockout(mfa, anon_client, device, clock, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        clock.shift(timedelta(seconds=60))
        _token(anon_client, otp="000000" if n % 2 else "111111")
    clock.shift(timedelta(seconds=60))
    assert _token(anon_client, otp=code(device)).status_code == 429


def test_enrolling_through_the_api_then_the_token_needs_a_code(anon_client, doctor, clock):
    client = _client_for(doctor)
    started = client.post("/api/v1/auth/totp/")
    assert started.status_code == 201
    body = started.json()
    assert set(body) == {"secret", "otpauth_url"}
    assert re.fullmatch(r"[A-Z2-7]+=*", body["secret"])
    url = urlsplit(body["otpauth_url"])
    params = parse_qs(url.query)
    assert url.scheme == "otpauth" and url.netloc == "totp"
    assert (params["secret"], params["algorithm"], params["digits"], params["period"]) == (
        [body["secret"]],
        ["SHA1"],
        ["6"],
        ["30"],
    )
    wrong = client.post("/api/v1/auth/totp/confirm/", {"otp": "000000"})
    assert wrong.status_code == 400
    assert list(wrong.json()["fields"]) == ["otp"]
    clock.shift(timedelta(seconds=5))
    confirmed = client.post("/api/v1/auth/totp/confirm/", {"otp": code_for_secret(body["secret"])})
    assert confirmed.status_code == 200
    assert TOTPDevice.objects.get(user=doctor).confirmed
    assert _token(anon_client).status_code == 400  # from now on the password alone is not enough
    clock.shift(timedelta(seconds=30))
    assert _token(anon_client, otp=code_for_secret(body["secret"])).status_code == 200


def test_replacing_an_enrolled_device_needs_its_current_code(doctor, device, clock):
    client = _client_for(doctor)
    refused = client.post("/api/v1/auth/totp/")
    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["otp"]
    clock.shift(timedelta(seconds=5))
    assert client.post("/api/v1/auth/totp/", {"otp": code(device)}).status_code == 201


def test_confirm_without_an_enrolment_is_400_naming_otp(doctor):
    response = _client_for(doctor).post("/api/v1/auth/totp/confirm/", {"otp": "123456"})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["otp"]


# --- the web login -----------------------------------------------------------------------------------


def test_the_web_login_asks_for_the_code_as_a_second_step(mfa, device, clock):
    browser = Client()
    first = browser.post("/login/", {"username": "drlee", "password": PASSWORD, "next": "/review/"})
    assert first.status_code == 302
    assert first["Location"] == "/login/code/"
    assert "_auth_user_id" not in browser.session  # no session on the password alone
    assert browser.get("/").status_code == 302
    page = browser.get("/login/code/")
    assert page.status_code == 200
    assert "6-digit code" in page.content.decode()
    wrong = browser.post("/login/code/", {"otp": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    assert "_auth_user_id" not in browser.session
    clock.shift(timedelta(seconds=5))
    right = browser.post("/login/code/", {"otp": code(device)})
    assert right.status_code == 302
    assert right["Location"] == "/review/"
    assert browser.session["_auth_user_id"] == str(device.user_id)
    assert browser.get("/review/").status_code == 200


def test_an_enrolled_user_outside_the_required_roles_is_asked_for_the_code_too(device):
    browser = Client()
    assert browser.post("/login/", {"username": "drlee", "password": PASSWORD})["Location"] == "/login/code/"


def test_a_required_role_without_a_device_enrols_at_the_web_login(mfa, doctor, clock):
    browser = Client()
    assert browser.post("/login/", {"username": "drlee", "password": PASSWORD})["Location"] == "/login/code/"
    page = browser.get("/login/code/").content.decode()
    assert "Set up two-factor sign-in" in page
    assert "<svg" in page
    secret = re.search(r'data-totp-secret="([A-Z2-7=]+)"', page).group(1)
    assert browser.get("/login/code/").content.decode().count(secret) >= 1  # the same secret on reload
    response = browser.post("/login/code/", {"otp": code_for_secret(secret)})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=doctor, confirmed=True)
    assert browser.get("/").status_code == 200


def test_the_second_step_expires_after_five_minutes(mfa, device, clock):
    browser = Client()
    browser.post("/login/", {"username": "drlee", "password": PASSWORD})
    clock.shift(timedelta(minutes=6))
    response = browser.post("/login/code/", {"otp": code(device)})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "_auth_user_id" not in browser.session


def test_a_session_of_a_required_role_without_the_second_factor_is_ended(mfa, doctor):
    browser = Client()
    browser.force_login(doctor)  # as if a session had come about some other way
    response = browser.get("/review/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "_auth_user_id" not in browser.session


def test_the_api_refuses_such_a_session_too(mfa, doctor):
    browser = Client()
    browser.force_login(doctor)
    assert browser.get("/api/v1/patients/").status_code == 401


def test_the_code_may_be_sent_as_a_number_and_a_malformed_one_names_otp(mfa, anon_client, device, clock):
    malformed = _token(anon_client, otp="12ab56")
    assert malformed.status_code == 400
    assert list(malformed.json()["fields"]) == ["otp"]
    clock.shift(timedelta(seconds=5))
    response = anon_client.post(TOKEN_URL, {"username": "drlee", "password": PASSWORD, "otp": int(code(device))})
    assert response.status_code == 200

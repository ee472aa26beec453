"""The web login's second step in Chromium: the TOTP code, and enrolling an authenticator at the first login."""

from base64 import b32decode

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from clinic.roles import CLINIC_ADMIN, CLINICIAN
from tests.browser.conftest import screenshot
from tests.browser.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(key: bytes) -> str:
    totp = TOTP(key)
    totp.time = timezone.now().timestamp()  # the test's clock, which the live server shares
    return f"{totp.token():06d}"


@pytest.fixture
def mfa(settings):
    settings.MFA_REQUIRED_ROLES = [CLINICIAN, CLINIC_ADMIN]


def _password_step(page, username: str) -> None:
    page.goto("/login/?next=/review/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/login/code/")


def test_a_clinician_logs_in_with_the_code_of_their_authenticator(page, mfa):
    world = World()
    device = TOTPDevice.objects.create(user=world.doctor, name="phone", confirmed=True)
    _password_step(page, "doctor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    screenshot(page, "login-second-step")

    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    assert page.url.endswith("/login/code/")

    page.wait_for_timeout(1100)  # django-otp slows down repeated misses: one second after the first
    page.get_by_label("6-digit code").fill(_code(device.bin_key))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/review/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review")


def test_a_clinician_without_an_authenticator_enrols_at_the_first_login(page, mfa):
    world = World()
    _password_step(page, "doctor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("[data-totp-secret]").get_attribute("data-totp-secret")
    page.get_by_label("6-digit code").fill(_code(b32decode(secret)))
    page.get_by_role("button", name="Confirm and log in").click()
    page.wait_for_url("**/review/")
    assert TOTPDevice.objects.filter(user=world.doctor, confirmed=True).count() == 1

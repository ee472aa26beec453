"""The login lockout counts in the shared cache: per username and address, per username, and per address."""

import pytest
from django.conf import settings

from clinic.roles import CLINICIAN, FRONT_DESK
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/token/"
PASSWORD = "pw-for-tests-1"


@pytest.fixture(autouse=True)
def _no_rate_throttle(monkeypatch):
    # These tests count lockouts; the per-address rate throttle (10 a minute) is tested on its own.
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "10000/min"})


def _login(client, username, password, address="203.0.113.7"):
    return client.post(URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_one_password_sprayed_over_many_usernames_locks_the_address(anon_client):
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    codes = [_login(anon_client, f"user{n}", "Spring2027!").status_code for n in range(limit)]
    assert codes[: limit - 1] == [400] * (limit - 1)
    assert codes[-1] == 429
    UserFactory(username="drlee", role=CLINICIAN)
    assert _login(anon_client, "drlee", PASSWORD).status_code == 429  # the address is locked for a while
    assert _login(anon_client, "drlee", PASSWORD, address="198.51.100.1").status_code == 200  # not elsewhere


def test_a_username_guessed_from_many_addresses_is_locked_everywhere(anon_client):
    UserFactory(username="drlee", role=CLINICIAN)
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    codes = [_login(anon_client, "drlee", f"guess{n}", address=f"198.51.100.{n}").status_code for n in range(limit)]
    assert codes[-1] == 429
    assert set(codes[:-1]) == {400}
    locked = _login(anon_client, "drlee", PASSWORD, address="192.0.2.200")
    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"


def test_staff_sharing_one_address_are_not_locked_out_by_one_persons_typos(anon_client):
    UserFactory(username="drlee", role=CLINICIAN)
    UserFactory(username="desk", role=FRONT_DESK)
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(anon_client, "drlee", f"typo{n}")
    assert _login(anon_client, "drlee", PASSWORD).status_code == 429
    assert _login(anon_client, "desk", PASSWORD).status_code == 200


def test_a_success_clears_the_usernames_count(anon_client):
    UserFactory(username="drlee", role=CLINICIAN)
    for _ in range(2):
        for n in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _login(anon_client, "drlee", f"typo{n}").status_code == 400
        assert _login(anon_client, "drlee", PASSWORD).status_code == 200


def test_the_counts_live_in_the_shared_cache_not_in_process_memory():
    from django.core.cache import caches

    backend = type(caches[settings.AXES_CACHE]).__module__
    assert backend in ("django.core.cache.backends.db", "django.core.cache.backends.redis")
    assert settings.AXES_HANDLER == "clinic.lockout.SharedCacheLockoutHandler"

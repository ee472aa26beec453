"""Every API endpoint requires authentication and a staff role (DESIGN.md §6), in the error shape of API.md."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import _client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Open by design: the token exchange, and the SMS webhook (checked by the provider's signature instead).
OPEN = {"api/v1/auth/token/", "api/v1/webhooks/sms/"}


def _api_routes(patterns=None, prefix="") -> list[str]:
    routes = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _api_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/v1/"):
            routes.append(route)
    return sorted(set(routes))


def _url(route: str) -> str:
    return "/" + re.sub(r"<(?:uuid:)?\w+>", lambda _: str(uuid.uuid4()), route)


ROUTES = [r for r in _api_routes() if r not in OPEN]


def test_the_route_list_is_not_empty():
    assert "api/v1/patients/" in ROUTES
    assert len(ROUTES) > 10


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_no_credentials_get_401_everywhere(anon_client, route, method):
    response = getattr(anon_client, method)(_url(route), {})
    assert response.status_code == 401, route
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("route", ROUTES)
def test_a_user_without_a_staff_role_gets_403_everywhere(route):
    client = _client_for(UserFactory(username="norole"))
    response = client.get(_url(route))
    assert response.status_code in (403, 405), route
    assert response.json()["code"] in ("permission_denied", "method_not_allowed")

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clinic.celery import app as celery_app
from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK
from tests.factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Tasks run inline unless a test starts a real worker (tests/..._worker tests)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Staff fixtures hash a password each; PBKDF2 makes that most of a test's setup time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # throttle counters live in the cache
    yield
    cache.clear()


def _client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = user
    return client


@pytest.fixture
def front_desk_user(db):
    return UserFactory(username="frontdesk", role=FRONT_DESK)


@pytest.fixture
def clinician_user(db):
    return UserFactory(username="clinician", role=CLINICIAN)


@pytest.fixture
def clinic_admin_user(db):
    return UserFactory(username="clinicadmin", role=CLINIC_ADMIN)


@pytest.fixture
def front_desk_client(front_desk_user):
    return _client_for(front_desk_user)


@pytest.fixture
def clinician_client(clinician_user):
    return _client_for(clinician_user)


@pytest.fixture
def clinic_admin_client(clinic_admin_user):
    return _client_for(clinic_admin_user)


@pytest.fixture
def anon_client():
    return APIClient()


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    is_pg = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = settings.CELERY_BROKER_URL.startswith("redis")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://...)")
    skip_redis = pytest.mark.skip(reason="needs Redis (CELERY_BROKER_URL=redis://...)")
    for item in items:
        if "postgres" in item.keywords and not is_pg:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not has_redis:
            item.add_marker(skip_redis)

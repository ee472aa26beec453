from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clinic.celery import app as celery_app
from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK
from notifications.models import ReminderPolicy
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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as migrations make it, less the trigger that refuses TRUNCATE on the audit log.

    pytest-django empties the tables after each transactional test with one TRUNCATE of them all,
    which that trigger refuses; tests/clinic/test_audit.py turns it back on to show it works.
    """
    with django_db_blocker.unblock():
        allow_audit_truncate()


def allow_audit_truncate() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE clinic_auditlog DISABLE TRIGGER clinic_auditlog_no_truncate")


@pytest.fixture(autouse=True)
def _fresh_policy():
    # Each process keeps the reminder policy row a while (notifications.models); each test has its own.
    ReminderPolicy.forget()
    yield
    ReminderPolicy.forget()


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Throttle and lockout counters live in the cache; it is a database table on SQLite, so only
    tests that reach the database can (and need to) clear it."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        yield
        return
    request.getfixturevalue("transactional_db" if _transactional(request) else "db")
    cache.clear()  # before, not after: a test may end inside a broken transaction
    yield


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))


# Tests travel years through the clinic's calendar with one client, so the fixture clients' tokens
# are dated at its far end and never reach API_TOKEN_TTL_HOURS; a token from /api/v1/auth/token/
# is dated now and expires as in production (tests/clinic/test_auth_token.py).
FIXTURE_TOKEN_ISSUED = datetime(2199, 1, 1, tzinfo=UTC)


def _client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    Token.objects.filter(pk=token.pk).update(created=FIXTURE_TOKEN_ISSUED)
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

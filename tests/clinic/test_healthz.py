"""GET /healthz: no auth, no redirect, no PHI; says whether the database and the broker answer."""

import pytest

from clinic.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_auth(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_says_when_the_broker_is_unreachable(client, monkeypatch):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    # Celery's conf.broker_url reads CELERY_BROKER_URL from the environment before its own value, so the
    # environment alone redirects it, and nothing is written into the shared app's conf.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    assert celery_app.conf.broker_url == "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "unavailable"}


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


def test_the_broker_url_is_back_after_the_test_above():
    assert celery_app.conf.broker_url != "redis://127.0.0.1:1/0"

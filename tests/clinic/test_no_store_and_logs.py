"""PHI is never cached (Cache-Control: no-store) and request logs hold no query strings or link tokens."""

import logging

import pytest
from django.test import Client

from clinic.access_log import GunicornLogger, RedactPathsFilter, redact, scrub
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_api_answers_carry_no_store(front_desk_client):
    for response in (
        front_desk_client.get("/api/v1/patients/"),
        front_desk_client.get("/api/v1/patients/00000000-0000-0000-0000-000000000000/"),
        Client().get("/api/v1/patients/"),
    ):
        assert "no-store" in response["Cache-Control"], response.status_code


def test_patient_pages_and_links_carry_no_store(client, front_desk_user):
    patient = PatientFactory()
    client.force_login(front_desk_user)
    assert "no-store" in client.get(f"/patients/{patient.id}/")["Cache-Control"]
    assert "no-store" in client.get("/patients/", {"q": patient.family_name})["Cache-Control"]
    assert "no-store" in Client().get("/p/nothing:here:atall/")["Cache-Control"]
    assert "no-store" in Client().get("/login/")["Cache-Control"]


def test_static_files_keep_their_cache(client):
    response = client.get("/static/web/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/p/abc123:1q2w3e:sigsigsig/", "/p/[token]/"),
        ("/p/diary/abc123:1q2w3e:sigsigsig/", "/p/diary/[token]/"),
        ("/api/v1/patients/?search=Ann+Lee", "/api/v1/patients/"),
        ("/patients/?q=%2B12125550123", "/patients/"),
        ("/day/", "/day/"),
    ],
)
def test_paths_are_logged_without_tokens_or_query_strings(path, logged):
    assert redact(path) == logged


def test_gunicorns_access_log_line_is_redacted():
    from gunicorn.config import Config

    logger = GunicornLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/p/abc123:1q2w3e:sigsigsig/",
        "QUERY_STRING": "utm=sms",
        "RAW_URI": "/p/abc123:1q2w3e:sigsigsig/?utm=sms",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
    }

    class Response:
        status = "200 OK"
        sent = 10
        headers = ()

    class Request:
        headers = ()

    atoms = logger.atoms(Response(), Request(), environ, __import__("datetime").timedelta(seconds=0.1))
    line = logger.cfg.access_log_format % atoms
    assert "abc123" not in line and "utm=sms" not in line
    assert "GET /p/[token]/ HTTP/1.1" in line


def test_djangos_request_warnings_are_scrubbed(caplog):
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Gone: %s", ("/p/abc:def:ghi/",), None)
    RedactPathsFilter().filter(record)
    assert record.getMessage() == "Gone: /p/[token]/"
    assert scrub('"GET /api/v1/patients/?search=Ann HTTP/1.1" 200') == '"GET /api/v1/patients/ HTTP/1.1" 200'

"""The audit page: clinic admins search the trail by patient, user and date, and export it as CSV."""

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from clinic.models import AuditLog
from clinic.roles import CLINIC_ADMIN
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    client = Client()
    client.force_login(UserFactory(username="boss", role=CLINIC_ADMIN))
    return client


def _read(user_client, url: str, at: datetime) -> None:
    """The page read as the user at that time (logged in then: sessions end after 30 idle minutes)."""
    with time_machine.travel(at, tick=False):
        client = Client()
        client.force_login(user_client.user)
        assert client.get(url).status_code == 200


@pytest.fixture
def trail(desk, doctor):
    """Ann read by desk on 1 March and by doctor on 2 March, Bob read by desk on 2 March."""
    ann = PatientFactory(given_name="Ann", family_name="Avery", mrn="MRN-ANN")
    bob = PatientFactory(given_name="Bob", family_name="Brook", mrn="MRN-BOB")
    _read(desk, f"/patients/{ann.id}/", datetime(2027, 3, 1, 15, tzinfo=UTC))
    _read(doctor, f"/patients/{ann.id}/response/", datetime(2027, 3, 2, 15, tzinfo=UTC))
    _read(desk, f"/patients/{bob.id}/", datetime(2027, 3, 2, 16, tzinfo=UTC))
    return ann, bob


def _shown(response) -> list[tuple[str, str]]:
    return [(entry.user.username, patient.mrn) for entry, patient in response.context["entries"]]


def test_only_clinic_admins_open_the_audit_page(desk, doctor, boss):
    assert desk.get("/audit/").status_code == 403
    assert doctor.get("/audit/").status_code == 403
    assert Client().get("/audit/").status_code == 302
    assert boss.get("/audit/").status_code == 200


def test_the_trail_is_searched_by_patient_user_and_date(boss, trail):
    assert _shown(boss.get("/audit/", {"patient": "Avery"})) == [("doctor", "MRN-ANN"), ("desk", "MRN-ANN")]
    assert _shown(boss.get("/audit/", {"patient": str(trail[1].id)})) == [("desk", "MRN-BOB")]
    assert _shown(boss.get("/audit/", {"user": "desk"})) == [("desk", "MRN-BOB"), ("desk", "MRN-ANN")]
    on_second = boss.get("/audit/", {"date_from": "2027-03-02", "date_to": "2027-03-02", "user": "d"})
    assert _shown(on_second) == [("desk", "MRN-BOB"), ("doctor", "MRN-ANN")]
    assert _shown(boss.get("/audit/", {"date_to": "2027-03-01", "user": "d"})) == [("desk", "MRN-ANN")]


def test_a_bad_search_shows_the_form_error_and_no_rows(boss, trail):
    response = boss.get("/audit/", {"date_from": "2027-03-02", "date_to": "2027-03-01"})
    assert response.status_code == 200
    assert "date_to" in response.context["form"].errors
    assert response.context["entries"] == []
    assert boss.get("/audit/", {"date_from": "9999-12-31", "patient": "a\x00b"}).status_code == 200


def test_the_csv_export_has_every_matching_row(boss, trail):
    response = boss.get("/audit/", {"patient": "Avery", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["user"], r["mrn"], r["resource"]) for r in rows] == [
        ("doctor", "MRN-ANN", "response"),
        ("desk", "MRN-ANN", "patient"),
    ]
    assert rows[0]["at_utc"].startswith("2027-03-02T15:00")


def test_looking_at_and_exporting_the_trail_is_itself_audited(boss, trail):
    ann, _ = trail
    boss.get("/audit/", {"patient": "Avery"})
    b"".join(boss.get("/audit/", {"patient": "Avery", "format": "csv"}).streaming_content)
    rows = AuditLog.objects.filter(resource="audit_log").order_by("id")
    assert [(r.user.username, r.action, r.patient_id) for r in rows] == [
        ("boss", "read", ann.id),
        ("boss", "export", ann.id),
    ]


def test_link_actions_are_found_by_their_actor(boss):
    patient = PatientFactory(mrn="MRN-LINK")
    AuditLog.objects.create(action="update", patient_id=patient.id, resource="session", actor="patient link 42")
    response = boss.get("/audit/", {"user": "patient link"})
    assert [(entry.actor, p.mrn) for entry, p in response.context["entries"]] == [("patient link 42", "MRN-LINK")]
    assert "patient link 42" in response.content.decode()

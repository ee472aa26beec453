"""Login, the idle timeout, roles, and what front-desk pages never show."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from clinic.roles import FRONT_DESK
from cycles.models import AdverseEvent, ReviewFlag, TreatmentRecord
from scheduling.models import Session
from tests.factories import (
    DiaryEntryFactory,
    PatientFactory,
    ReviewFlagFactory,
    SessionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 17, 0, tzinfo=UTC)  # Monday, 12:00 in New York


@pytest.fixture(autouse=True)
def _clock():
    """Pinned before any login, so that sessions are not already expired in the pinned future."""
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


def test_an_anonymous_visitor_is_sent_to_the_login_page():
    response = Client().get("/day/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/day/")


def test_staff_log_in_with_their_password_and_log_out_with_a_post():
    UserFactory(username="ana", role=FRONT_DESK)
    client = Client()
    page = client.get("/login/")
    assert b'<label for="id_username">' in page.content and b'<label for="id_password">' in page.content
    response = client.post("/login/", {"username": "ana", "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405  # logging out is a POST (CSRF-protected)
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_refused_with_a_message():
    UserFactory(username="ana", role=FRONT_DESK)
    response = Client().post("/login/", {"username": "ana", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_the_session_ends_after_30_idle_minutes_and_activity_keeps_it_alive(_clock):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    UserFactory(username="ana", role=FRONT_DESK)
    client = Client()
    client.post("/login/", {"username": "ana", "password": "pw-for-tests-1"})
    for _ in range(3):  # 87 minutes of work, never 30 idle
        _clock.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
    _clock.shift(timedelta(minutes=31))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_user_without_a_role_gets_403(db):
    client = Client()
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/day/").status_code == 403


@pytest.fixture
def clinical_patient(clinician, location):
    """A patient with every kind of clinical record, each carrying a marker that must not leak."""
    patient = PatientFactory(given_name="Mara", family_name="Quill")
    DiaryEntryFactory(patient=patient, period_start=date(2026, 10, 1), headache_days=19, migraine_days=9)
    done = SessionFactory(
        patient=patient,
        clinician=clinician,
        location=location,
        start=datetime(2026, 12, 14, 14, 0, tzinfo=UTC),
        end=datetime(2026, 12, 14, 14, 30, tzinfo=UTC),
        status=Session.Status.COMPLETED,
        cycle_number=1,
    )
    TreatmentRecord.objects.create(
        session=done,
        units_by_muscle=TreatmentRecord.STANDARD_UNITS,
        sites=31,
        total_units=155,
        units_wasted=7,
        lot_number="LOTSECRET77",
        lot_expiry=date(2027, 6, 1),
        injector=clinician,
        notes="TREATMENTNOTESECRET",
    )
    AdverseEvent.objects.create(patient=patient, session=done, kind="ptosis", severity="mild", note="ADVERSENOTESECRET")
    ReviewFlagFactory(
        course=done.course,
        kind=ReviewFlag.Kind.NO_BENEFIT,
        details={"baseline": 87.6, "cycle_headache_days_per_28": 80.1, "reduction_pct": 8.6, "threshold_pct": 30},
        cycle=1,
    )
    upcoming = SessionFactory(
        patient=patient,
        course=done.course,
        clinician=clinician,
        location=location,
        start=datetime(2027, 3, 1, 19, 0, tzinfo=UTC),
        end=datetime(2027, 3, 1, 19, 30, tzinfo=UTC),
        kind=Session.Kind.REVIEW,
    )
    return patient, done, upcoming


MARKERS = ["LOTSECRET77", "TREATMENTNOTESECRET", "ADVERSENOTESECRET", "87.6"]
CLINICAL_WORDS = re.compile(
    r"\b(headache|migraine|diary|adverse|units?|lot|injection|treatment record|no benefit|no_benefit|flag|baseline)\b",
    re.IGNORECASE,
)


def test_front_desk_is_refused_every_clinician_page_with_403(desk, clinical_patient):
    patient, _done, upcoming = clinical_patient
    flag = ReviewFlag.objects.get(patient=patient)
    assert desk.get("/review/").status_code == 403
    assert desk.get(f"/patients/{patient.id}/response/").status_code == 403
    assert desk.get(f"/sessions/{upcoming.id}/complete/").status_code == 403
    assert desk.post(f"/sessions/{upcoming.id}/complete/", {}).status_code == 403
    assert desk.post(f"/review/{flag.id}/resolve/", {"decision": "continue"}).status_code == 403
    flag.refresh_from_db()
    assert flag.status == ReviewFlag.Status.OPEN


def test_front_desk_pages_never_show_clinical_data(desk, doctor, clinical_patient, location):
    patient, _done, upcoming = clinical_patient
    pages = [
        "/",
        f"/day/?location={location.id}&date=2026-12-14",
        f"/day/?location={location.id}&date=2027-03-01",
        "/patients/?q=Quill",
        f"/patients/{patient.id}/",
        f"/patients/{patient.id}/book/",
        f"/sessions/{upcoming.id}/reschedule/",
        "/due/?within_days=60",
    ]
    for url in pages:
        response = desk.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "Quill" in html or url == "/", url
        for marker in MARKERS:
            assert marker not in html, (url, marker)
        text = re.sub(r"<[^>]+>", " ", html)
        assert not CLINICAL_WORDS.search(text), (url, CLINICAL_WORDS.search(text))
    # The same markers are on the clinician's page: the check above can see them.
    clinical = doctor.get(f"/patients/{patient.id}/response/").content.decode()
    assert "vs baseline 87.6" in clinical
    history = doctor.get(f"/patients/{patient.id}/treatments/").content.decode()
    assert "LOTSECRET77" in history and "ADVERSENOTESECRET" in history

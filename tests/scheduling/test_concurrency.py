"""No double booking under real concurrency: threads against a running server.

Fifty clients, each with its own token and HTTP session, wait at a barrier and
then POST /api/v1/sessions/ at once. On PostgreSQL the booking service's row locks
and the exclusion constraints must let exactly one through; on SQLite the
IMMEDIATE transaction must serialise them.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import IntegrityError
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django.utils import timezone
from rest_framework.authtoken.models import Token

from clinic.errors import Conflict
from clinic.roles import FRONT_DESK
from cycles.models import Protocol
from patients.models import DiaryEntry, Patient, PriorPreventive
from scheduling.models import Clinician, Location, Session, WorkingHours
from scheduling.services import session_save
from tests.scheduling.conftest import at

THREADS = 50


class _RaceWSGIServer(ThreadedWSGIServer):
    # Django's default listen backlog (10) resets the 11th simultaneous connection.
    request_queue_size = 128


class _RaceServerThread(LiveServerThread):
    server_class = _RaceWSGIServer


@pytest.fixture
def race_server(transactional_db):
    """A threaded WSGI server on a free port, like pytest-django's, with room for 50 clients at once."""
    thread = _RaceServerThread("127.0.0.1", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    thread.url = f"http://127.0.0.1:{thread.port}"
    yield thread
    thread.terminate()


DAY = date(2031, 6, 3)  # a Tuesday far enough ahead that "now" needs no pinning across threads


def _tokens(count: int) -> list[str]:
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"desk{i}") for i in range(count))
    Group.objects.get_or_create(name=FRONT_DESK)[0].user_set.add(*users)
    return [Token.objects.create(user=user).key for user in users]


def _clinicians(location: Location, count: int) -> list[Clinician]:
    clinicians = Clinician.objects.bulk_create(Clinician(name=f"Dr {i:02d}") for i in range(count))
    WorkingHours.objects.bulk_create(
        WorkingHours(clinician=c, location=location, weekday=d, start_time=time(9), end_time=time(17))
        for c in clinicians
        for d in range(5)
    )
    return clinicians


def _eligible_patients(count: int) -> list[Patient]:
    patients = Patient.objects.bulk_create(
        Patient(mrn=f"RACE{i:04d}", given_name="Race", family_name=f"P{i}", date_of_birth=date(1980, 1, 1))
        for i in range(count)
    )
    today = timezone.now().date()  # the baseline is the 90 days before today for an untreated patient
    DiaryEntry.objects.bulk_create(
        DiaryEntry(
            patient=p,
            period_start=today - timedelta(days=offset),
            period_end=today - timedelta(days=offset - 27),
            headache_days=20,
            migraine_days=10,
        )
        for p in patients
        for offset in (56, 28)
    )
    PriorPreventive.objects.bulk_create(
        PriorPreventive(patient=p, drug=drug, outcome=PriorPreventive.Outcome.FAILED)
        for p in patients
        for drug in ("topiramate", "propranolol")
    )
    return patients


def _race(base_url: str, tokens: list[str], bodies: list[dict]) -> list[tuple[int, dict]]:
    # The protocol row must exist beforehand: the first request creating it would make every
    # other request wait on its unique index, serialising the race by accident.
    Protocol.default()
    barrier = threading.Barrier(len(bodies))

    def one(token: str, body: dict) -> tuple[int, dict]:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Token {token}"
            barrier.wait(timeout=60)
            response = http.post(f"{base_url}/api/v1/sessions/", json=body, timeout=120)
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, tokens, bodies))


def _body(patient, clinician, location, start) -> dict:
    return {
        "patient": str(patient.id),
        "clinician": str(clinician.id),
        "location": str(location.id),
        "start": start.isoformat(),
        "kind": "treatment",
    }


def _assert_one_winner(results, loser_code: str) -> None:
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1, results
    assert statuses.count(409) == len(results) - 1, results
    assert {body["code"] for status, body in results if status == 409} == {loser_code}


def _same_slot(server, threads: int) -> None:
    location = Location.objects.create(name="Race clinic", time_zone="America/New_York")
    (clinician,) = _clinicians(location, 1)
    patients = _eligible_patients(threads)
    start = at(DAY, 10)
    results = _race(server.url, _tokens(threads), [_body(p, clinician, location, start) for p in patients])
    _assert_one_winner(results, "slot_unavailable")
    assert Session.objects.filter(clinician=clinician).count() == 1


def _same_patient(server, threads: int) -> None:
    location = Location.objects.create(name="Race clinic", time_zone="America/New_York")
    clinicians = _clinicians(location, threads)
    (patient,) = _eligible_patients(1)
    start = at(DAY, 10)
    results = _race(server.url, _tokens(threads), [_body(patient, c, location, start) for c in clinicians])
    _assert_one_winner(results, "patient_busy")
    assert Session.objects.filter(patient=patient).count() == 1


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_fifty_clients_racing_for_one_slot_get_one_booking_and_49_slot_unavailable(race_server, attempt):
    _same_slot(race_server, THREADS)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_one_patient_racing_fifty_clinicians_gets_one_booking_and_49_patient_busy(race_server, attempt):
    _same_patient(race_server, THREADS)


@pytest.mark.slow
@pytest.mark.parametrize("attempt", [1, 2])
def test_bookings_are_serialised_on_any_database(race_server, attempt):
    """Runs on SQLite too: one file, BEGIN IMMEDIATE and a 30 s busy timeout serialise the bookings."""
    _same_slot(race_server, THREADS)


@pytest.mark.slow
def test_one_patient_racing_fifty_clinicians_is_serialised_on_any_database(race_server):
    _same_patient(race_server, THREADS)


@pytest.mark.postgres
def test_the_database_refuses_overlapping_active_sessions_for_one_clinician(db):
    from tests.factories import ClinicianFactory, LocationFactory, PatientFactory, SessionFactory

    clinician, location = ClinicianFactory(), LocationFactory()
    first = SessionFactory(clinician=clinician, location=location, start=at(DAY, 10))
    overlapping = Session(
        patient=PatientFactory(), clinician=clinician, location=location, start=at(DAY, 10, 15), end=at(DAY, 10, 45)
    )
    with pytest.raises(Conflict) as error:
        session_save(overlapping)
    assert error.value.code == "slot_unavailable"
    # A cancelled session holds no time, so the constraint lets the same slot be taken again.
    first.status = Session.Status.CANCELLED
    first.save()
    session_save(overlapping)


@pytest.mark.postgres
def test_the_database_refuses_overlapping_active_sessions_for_one_patient(db):
    from tests.factories import ClinicianFactory, LocationFactory, PatientFactory, SessionFactory

    patient, location = PatientFactory(), LocationFactory()
    SessionFactory(patient=patient, location=location, start=at(DAY, 10))
    clash = Session(
        patient=patient, clinician=ClinicianFactory(), location=location, start=at(DAY, 10), end=at(DAY, 10, 30)
    )
    with pytest.raises(Conflict) as error:
        session_save(clash)
    assert error.value.code == "patient_busy"
    with pytest.raises(IntegrityError):
        Session.objects.create(
            patient=patient, clinician=ClinicianFactory(), location=location, start=at(DAY, 10), end=at(DAY, 11)
        )

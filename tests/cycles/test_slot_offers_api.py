"""GET /api/v1/slot-offers/ (front desk and clinicians), and accept / decline for an answer given by phone."""

from datetime import date

import pytest
import time_machine

from clinic.models import AuditLog
from cycles.models import Protocol, SlotOffer
from scheduling.models import Session
from tests.offers import NOW, cancel, clinic, due_patient, slot

pytestmark = pytest.mark.django_db
URL = "/api/v1/slot-offers/"
FIELDS = {"id", "session", "patient", "start", "status", "offered_at", "responded_at"}


@pytest.fixture(autouse=True)
def _pinned():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def freed(db, django_capture_on_commit_callbacks):
    """Two freed slots: Dr Adams's at 09:00 offered to Olivia, Bea and Cal; Dr Baker's at 10:00 to them too."""
    Protocol.objects.filter(pk=Protocol.default().pk).update(auto_book=False)
    location, (adams, baker) = clinic()
    for name, last in (("Olivia", date(2026, 11, 16)), ("Bea", date(2026, 12, 7)), ("Cal", date(2026, 12, 10))):
        due_patient(location, baker, last=last, given_name=name)
    first = slot(adams, location)
    second = slot(baker, location, start=first.start.replace(hour=first.start.hour + 1))
    for session in (first, second):
        cancel(session, django_capture_on_commit_callbacks)
    return first, second


def test_the_list_shows_each_offer_with_the_contract_fields(front_desk_client, freed):
    first, _ = freed
    body = front_desk_client.get(URL, {"session": str(first.id)}).json()
    assert body["count"] == 3 and set(body) == {"count", "next", "previous", "results"}
    row = body["results"][0]
    assert set(row) >= FIELDS
    assert row["session"] == str(first.id) and row["status"] == "offered" and row["responded_at"] is None
    assert row["start"] == "2027-03-10T14:00:00Z"  # 09:00 in New York
    assert {r["patient"] for r in body["results"]} == {
        str(o.patient_id) for o in SlotOffer.objects.filter(freed_slot__session=first)
    }


def test_the_list_filters_by_patient_and_status(clinician_client, freed):
    offer = SlotOffer.objects.filter(freed_slot__session=freed[0], rank=1).first()
    by_patient = clinician_client.get(URL, {"patient": str(offer.patient_id)}).json()
    assert by_patient["count"] == 2  # one offer of each slot
    assert clinician_client.get(URL, {"status": "accepted"}).json()["count"] == 0
    assert clinician_client.get(URL, {"status": "offered"}).json()["count"] == 6


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "maybe"}, "status"), ({"session": "not-a-uuid"}, "session"), ({"patient": "x"}, "patient")],
)
def test_bad_filters_are_400_validation_error_naming_the_field(front_desk_client, params, field):
    response = front_desk_client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and field in response.json()["fields"]


def test_the_list_needs_a_login(anon_client):
    response = anon_client.get(URL)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_the_list_runs_a_constant_number_of_queries_and_audits_each_patient(
    front_desk_client, freed, django_assert_num_queries
):
    # 1 the token with its user and roles, 2 count, 3 the page with the slots' sessions, 4 audit insert
    with django_assert_num_queries(4):
        assert front_desk_client.get(URL).json()["count"] == 6
    assert AuditLog.objects.filter(resource="slot_offer", action="read").count() == 3  # one row per patient


def test_the_front_desk_records_an_accept_given_by_phone_and_a_second_is_409_slot_taken(front_desk_client, freed):
    first, _ = freed
    winner, loser, _ = SlotOffer.objects.filter(freed_slot__session=first).order_by("rank")
    response = front_desk_client.post(f"{URL}{winner.id}/accept/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "accepted" and body["responded_at"] == "2027-03-01T15:00:00Z"
    booked = Session.objects.get(pk=body["booked_session"])
    assert (booked.patient_id, booked.start, booked.booked_by.username) == (winner.patient_id, first.start, "frontdesk")

    late = front_desk_client.post(f"{URL}{loser.id}/accept/")
    assert late.status_code == 409
    assert late.json()["code"] == "slot_taken"
    assert Session.objects.filter(start=first.start, status="booked").count() == 1


def test_a_decline_is_recorded_and_a_second_answer_is_409(front_desk_client, freed):
    offer = SlotOffer.objects.filter(freed_slot__session=freed[0]).order_by("rank").first()
    response = front_desk_client.post(f"{URL}{offer.id}/decline/")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    again = front_desk_client.post(f"{URL}{offer.id}/accept/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_an_unknown_offer_is_404(front_desk_client, db):
    response = front_desk_client.post(f"{URL}00000000-0000-0000-0000-000000000000/accept/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"

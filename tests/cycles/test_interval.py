"""The minimum interval holds in both directions, against every completed or active treatment of the
patient, on booking, on reschedule and in the planner (issue 11, Must show 1)."""

from datetime import date, timedelta

import pytest
import time_machine

from clinic.models import AuditLog
from cycles import planner
from cycles.models import ReviewFlag
from scheduling.models import Session
from tests.cycle import at, clinic, treated_course
from tests.factories import SessionFactory, UserFactory

LAST = date(2026, 10, 1)  # the course's last completed treatment
TODAY = date(2027, 1, 4)
BOOKED = date(2027, 1, 20)  # a treatment already booked (110 days after LAST)


@pytest.fixture
def now():
    with time_machine.travel(at(TODAY, 8), tick=False) as traveller:
        yield traveller


@pytest.fixture
def booked(db, now):
    location, (lee, _) = clinic()
    course = treated_course(location=location, clinician=lee, treated_on=[LAST])
    return SessionFactory(patient=course.patient, course=course, clinician=lee, location=location, start=at(BOOKED, 10))


def book(client, booked, day: date, hour: int = 10, **extra):
    return client.post(
        "/api/v1/sessions/",
        {
            "patient": str(booked.patient_id),
            "clinician": str(booked.clinician_id),
            "location": str(booked.location_id),
            "start": at(day, hour).isoformat(),
            "kind": "treatment",
            **extra,
        },
        format="json",
    )


def test_a_treatment_7_days_after_a_booked_one_is_too_soon(booked, front_desk_client):
    response = book(front_desk_client, booked, BOOKED + timedelta(days=7))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "too_soon"
    assert body["conflicts_with"] == str(booked.pk)
    assert body["earliest"] == (BOOKED + timedelta(days=84)).isoformat()  # 2027-04-14


def test_a_treatment_7_days_before_a_booked_one_is_too_soon_with_no_earliest(booked, front_desk_client):
    # 2027-01-13 is 104 days after the last completed treatment: only the later booking clashes.
    response = book(front_desk_client, booked, BOOKED - timedelta(days=7))
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["earliest"], body["conflicts_with"]) == ("too_soon", None, str(booked.pk))


def test_a_second_treatment_the_same_day_is_too_soon(booked, front_desk_client):
    response = book(front_desk_client, booked, BOOKED, hour=15)
    assert response.status_code == 422
    assert response.json()["code"] == "too_soon"
    assert response.json()["conflicts_with"] == str(booked.pk)
    assert Session.objects.filter(patient=booked.patient).count() == 2  # nothing written


def test_a_clinicians_override_books_it_and_is_audited(booked, clinician_client):
    response = book(clinician_client, booked, BOOKED + timedelta(days=7), override_reason="Travelling abroad.")
    assert response.status_code == 201, response.json()
    audit = AuditLog.objects.get(action=AuditLog.Action.OVERRIDE, object_id=response.json()["id"])
    assert audit.detail == "Travelling abroad."


def test_a_reschedule_next_to_another_treatment_is_too_soon(booked, front_desk_client, clinician_client):
    later = book(clinician_client, booked, date(2027, 4, 20), override_reason="Second site visit.")
    assert later.status_code == 201
    response = front_desk_client.post(
        f"/api/v1/sessions/{booked.pk}/reschedule/", {"start": at(date(2027, 4, 1), 10).isoformat()}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["conflicts_with"] == later.json()["id"]
    # Moving it within its own interval is fine: a session never clashes with itself.
    moved = front_desk_client.post(
        f"/api/v1/sessions/{booked.pk}/reschedule/", {"start": at(BOOKED + timedelta(days=2), 10).isoformat()}
    )
    assert moved.status_code == 200, moved.json()


def test_the_planner_leaves_a_course_with_a_manual_booking_alone(booked, now):
    # The course's next treatment is booked by hand at +60 days from today; the sweep books nothing more.
    assert planner.plan_sweep() == {"booked": 0, "failed": 0, "already_booked": 0, "skipped": 0}
    assert planner.course_plan_next(course_id=booked.course_id).outcome == planner.PlanOutcome.ALREADY_BOOKED
    assert Session.objects.filter(patient=booked.patient).count() == 2


def test_the_planner_never_books_inside_84_days_of_a_booked_treatment(db, now):
    location, (lee, _) = clinic()
    course = treated_course(location=location, clinician=lee, treated_on=[TODAY - timedelta(days=80)])
    # A treatment of the patient booked outside the course (imported from another system, say), 10 days
    # after the course's target: every day of the window lies within 84 days of it.
    target = TODAY + timedelta(days=4)
    SessionFactory(
        patient=course.patient, course=None, clinician=lee, location=location, start=at(target + timedelta(days=10))
    )
    result = planner.course_plan_next(course_id=course.pk)
    assert result.outcome == planner.PlanOutcome.FAILED
    assert Session.objects.filter(course=course, status=Session.Status.BOOKED).count() == 0
    assert ReviewFlag.objects.filter(course=course, kind=ReviewFlag.Kind.AUTO_BOOKING_FAILED).exists()


def test_the_web_booking_page_never_proposes_a_too_soon_slot(booked, client):
    client.force_login(UserFactory(username="desk", role="front_desk"))
    html = client.get(f"/patients/{booked.patient_id}/book/", {"from": (BOOKED - timedelta(days=3)).isoformat()})
    page = html.content.decode()
    assert html.status_code == 200
    # The week shown (17–23 Jan) lies wholly within 84 days of the booking on 20 Jan: no slot is offered.
    assert "2027-01-17T" not in page and "2027-01-21T" not in page and f"{BOOKED.isoformat()}T" not in page
    # The week after the interval does offer times (so the check above is not vacuous).
    later = client.get(f"/patients/{booked.patient_id}/book/", {"from": "2027-04-15"}).content.decode()
    assert "2027-04-15T" in later

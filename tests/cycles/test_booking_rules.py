"""The course rules are written once (cycles.rules.TREATMENT_RULES) and every path that books obeys them.

The test adds a rule of its own, "no treatments on the 13th", to the shared tuple and shows that a
front-desk booking over the API, the web booking form and the planner all refuse the 13th.
"""

from datetime import date, timedelta

import pytest
import time_machine

from clinic.errors import RuleViolation
from clinic.models import AuditLog
from cycles import planner, rules
from scheduling.models import Session
from tests.cycle import at, clinic, treated_course
from tests.factories import UserFactory

# Tuesday 13 April 2027 is 84 days after Tuesday 19 January 2027.
LAST = date(2027, 1, 19)
THIRTEENTH = date(2027, 4, 13)


def no_treatment_on_the_13th(facts: rules.TreatmentFacts, proposal: rules.ProposedTreatment):
    if proposal.treated_on.day == 13:
        return RuleViolation("No treatments on the 13th.", code="unlucky_day")
    return None


@pytest.fixture
def unlucky(monkeypatch):
    monkeypatch.setattr(rules, "TREATMENT_RULES", (*rules.TREATMENT_RULES, no_treatment_on_the_13th))


@pytest.fixture
def course(db):
    with time_machine.travel(at(LAST, 12), tick=False):
        location, (lee, _) = clinic()
        course = treated_course(location=location, clinician=lee, treated_on=[LAST])
    return course


@pytest.fixture
def later():
    with time_machine.travel(at(date(2027, 2, 1), 12), tick=False) as traveller:
        yield traveller


def _book(client, course, day: date, hour: int = 9):
    last = course.sessions.get()
    return client.post(
        "/api/v1/sessions/",
        {
            "patient": str(course.patient_id),
            "clinician": str(last.clinician_id),
            "location": str(last.location_id),
            "start": at(day, hour).isoformat(),
            "kind": "treatment",
        },
        format="json",
    )


def test_a_front_desk_booking_on_the_13th_is_refused_by_the_added_rule(course, later, unlucky, front_desk_client):
    response = _book(front_desk_client, course, THIRTEENTH)
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "unlucky_day"
    assert _book(front_desk_client, course, THIRTEENTH + timedelta(days=1)).status_code == 201


def test_without_the_rule_the_13th_books(course, later, front_desk_client):
    assert _book(front_desk_client, course, THIRTEENTH).status_code == 201


def test_the_web_booking_form_obeys_the_added_rule(course, later, unlucky, client):
    user = UserFactory(username="desk2", role="front_desk")
    client.force_login(user)
    last = course.sessions.get()
    response = client.post(
        f"/patients/{course.patient_id}/book/",
        {
            "location": str(last.location_id),
            "clinician": str(last.clinician_id),
            "on_date": THIRTEENTH.isoformat(),
            "at_time": "09:00",
            "slot": "other",
            "kind": "treatment",
        },
    )
    assert response.status_code == 200  # the form again, with the rule's message
    assert "No treatments on the 13th." in response.content.decode()
    assert not Session.objects.filter(start=at(THIRTEENTH)).exists()


def test_the_planner_skips_the_13th_under_the_added_rule(course, later, unlucky):
    result = planner.course_plan_next(course_id=course.pk)
    booked = Session.objects.get(pk=result.session_id)
    assert result.outcome == planner.PlanOutcome.BOOKED
    # The target (84 days on, the 13th) is refused; the nearest slot the rule accepts is the
    # day before at the same time, or later that week.
    assert booked.start.astimezone(booked.location.zone).date() != THIRTEENTH
    assert abs((booked.start.astimezone(booked.location.zone).date() - THIRTEENTH).days) <= 1


def test_without_the_rule_the_planner_books_the_13th(course, later):
    result = planner.course_plan_next(course_id=course.pk)
    booked = Session.objects.get(pk=result.session_id)
    assert booked.start == at(THIRTEENTH)


def test_a_clinicians_override_passes_the_added_rule_and_is_kept(course, later, unlucky, clinician_client):
    last = course.sessions.get()
    response = clinician_client.post(
        "/api/v1/sessions/",
        {
            "patient": str(course.patient_id),
            "clinician": str(last.clinician_id),
            "location": str(last.location_id),
            "start": at(THIRTEENTH).isoformat(),
            "kind": "treatment",
            "override_reason": "Patient travels on the 14th.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Session.objects.get(pk=response.json()["id"]).override_reason == "Patient travels on the 14th."
    assert AuditLog.objects.filter(action=AuditLog.Action.OVERRIDE, patient_id=course.patient_id).count() == 1

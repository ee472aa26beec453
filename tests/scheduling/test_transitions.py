"""The session lifecycle: booked → confirmed → checked_in → completed, or cancelled / no_show.

Every transition that is not allowed answers 409 invalid_transition and changes nothing.
"""

from datetime import date, timedelta

import pytest
import time_machine

from clinic.errors import Conflict
from cycles import treatments
from scheduling import services
from scheduling.models import Session
from tests.factories import SessionFactory
from tests.scheduling.conftest import NOW, at, treatment_body

pytestmark = pytest.mark.usefixtures("now")

S = Session.Status
MONDAY = date(2027, 1, 4)  # today in New York (07:00 local)
ALLOWED = {
    "confirm": {S.BOOKED},
    "check_in": {S.BOOKED, S.CONFIRMED},
    "no_show": {S.BOOKED, S.CONFIRMED},
    "complete": {S.CHECKED_IN},
    "cancel": {S.BOOKED, S.CONFIRMED, S.CHECKED_IN},
    "reschedule": {S.BOOKED, S.CONFIRMED},
}
ENDPOINT = {
    "check_in": "check-in",
    "no_show": "no-show",
    "complete": "complete",
    "cancel": "cancel",
    "reschedule": "reschedule",
}
REFUSED = [(action, status) for action, allowed in ALLOWED.items() for status in S.values if status not in allowed]


def run(action, session, user):
    if action == "confirm":
        return services.session_confirm(session=session, by=user)
    if action == "check_in":
        return services.session_check_in(session=session, by=user)
    if action == "no_show":
        return services.session_no_show(session=session, by=user)
    if action == "complete":
        return treatments.session_complete(
            session=session, treatment=treatment_body(), adverse_events=[], notes="", by=user
        )
    if action == "cancel":
        return services.session_cancel(session=session, reason="test", by=user)
    return services.session_reschedule(session=session, start=at(date(2027, 1, 6), 11), by=user)


def body_for(action, session):
    if action == "complete":
        return {"treatment": {**treatment_body(), "lot_expiry": "2028-06-30"}, "adverse_events": [], "notes": ""}
    if action == "cancel":
        return {"reason": "test"}
    if action == "reschedule":
        return {"start": at(date(2027, 1, 6), 11).isoformat()}
    return {}


@pytest.fixture
def session_in(clinician, location, patient):
    def make(status, start=None):
        # A session this afternoon: check-in is allowed today, no-show after 15:00 local.
        start = start or at(MONDAY, 15)
        return SessionFactory(patient=patient, clinician=clinician, location=location, start=start, status=status)

    return make


def snapshot(session):
    fresh = Session.objects.get(pk=session.pk)
    return (fresh.status, fresh.start, fresh.end, fresh.clinician_id, fresh.updated_at, fresh.cancel_reason)


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_a_transition_that_is_not_allowed_is_refused_and_changes_nothing(session_in, clinician_user, action, status):
    session = session_in(status)
    before = snapshot(session)
    with pytest.raises(Conflict) as error:
        run(action, session, clinician_user)
    assert error.value.code == "invalid_transition"
    assert snapshot(session) == before


@pytest.mark.parametrize(("action", "status"), [r for r in REFUSED if r[0] in ENDPOINT])
def test_http_a_refused_transition_answers_409_invalid_transition(session_in, clinician_client, action, status):
    session = session_in(status)
    before = snapshot(session)
    response = clinician_client.post(
        f"/api/v1/sessions/{session.id}/{ENDPOINT[action]}/", body_for(action, session), format="json"
    )
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_transition"
    assert set(response.json()) == {"code", "detail"}
    assert snapshot(session) == before


def test_confirm_moves_booked_to_confirmed(session_in, front_desk_user):
    session = services.session_confirm(session=session_in(S.BOOKED), by=None)
    assert session.status == S.CONFIRMED
    assert session.confirmed_at is not None


def test_check_in_works_any_time_on_the_local_date(session_in, front_desk_client):
    session = session_in(S.CONFIRMED)
    # 07:00 in New York, eight hours before the session.
    response = front_desk_client.post(f"/api/v1/sessions/{session.id}/check-in/")
    assert response.status_code == 200
    assert response.json()["status"] == "checked_in"


def test_check_in_on_another_local_date_is_refused_even_when_the_utc_date_matches(session_in, front_desk_client):
    # The session is on Tuesday at 16:30 in New York (21:30 UTC Tuesday).
    session = session_in(S.BOOKED, start=at(date(2027, 1, 5), 16, 30))
    with time_machine.travel(at(date(2027, 1, 4), 23, 30), tick=False):
        # Monday 23:30 New York = Tuesday 04:30 UTC: the UTC date matches, the local date does not.
        response = front_desk_client.post(f"/api/v1/sessions/{session.id}/check-in/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert Session.objects.get(pk=session.pk).status == S.BOOKED


def test_check_in_the_day_before_is_refused(session_in, front_desk_client):
    session = session_in(S.BOOKED, start=at(date(2027, 1, 5), 9))
    response = front_desk_client.post(f"/api/v1/sessions/{session.id}/check-in/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_no_show_before_the_start_is_refused_and_after_it_is_recorded(session_in, front_desk_client):
    session = session_in(S.BOOKED)
    early = front_desk_client.post(f"/api/v1/sessions/{session.id}/no-show/")
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    with time_machine.travel(at(MONDAY, 15, 1), tick=False):
        late = front_desk_client.post(f"/api/v1/sessions/{session.id}/no-show/")
    assert late.status_code == 200
    assert late.json()["status"] == "no_show"


def test_cancel_answers_200_with_the_cancelled_session(session_in, front_desk_client):
    session = session_in(S.CONFIRMED)
    response = front_desk_client.post(f"/api/v1/sessions/{session.id}/cancel/", {"reason": "flu"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "flu"


def test_reschedule_keeps_the_length_and_a_confirmed_session_goes_back_to_booked(session_in, front_desk_client):
    session = session_in(S.CONFIRMED)
    new_start = at(date(2027, 1, 6), 11)
    response = front_desk_client.post(
        f"/api/v1/sessions/{session.id}/reschedule/", {"start": new_start.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["start"] == "2027-01-06T16:00:00Z"
    assert response.json()["end"] == "2027-01-06T16:30:00Z"
    assert response.json()["status"] == "booked"


def test_reschedule_to_another_clinician(session_in, other_clinician, front_desk_client):
    session = session_in(S.BOOKED)
    response = front_desk_client.post(
        f"/api/v1/sessions/{session.id}/reschedule/",
        {"start": at(MONDAY, 16).isoformat(), "clinician": str(other_clinician.id)},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["clinician"] == str(other_clinician.id)


def test_reschedule_into_a_taken_slot_is_refused_and_changes_nothing(
    session_in, clinician, location, front_desk_client
):
    session = session_in(S.BOOKED)
    SessionFactory(clinician=clinician, location=location, start=at(MONDAY, 16))
    before = snapshot(session)
    response = front_desk_client.post(
        f"/api/v1/sessions/{session.id}/reschedule/", {"start": at(MONDAY, 16, 15).isoformat()}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    assert snapshot(session) == before


def test_reschedule_onto_its_own_time_slot_is_allowed(session_in, front_desk_client):
    session = session_in(S.BOOKED)
    response = front_desk_client.post(
        f"/api/v1/sessions/{session.id}/reschedule/", {"start": at(MONDAY, 15, 15).isoformat()}, format="json"
    )
    assert response.status_code == 200


def test_reschedule_into_the_past_is_a_validation_error(session_in, front_desk_client):
    session = session_in(S.BOOKED)
    response = front_desk_client.post(
        f"/api/v1/sessions/{session.id}/reschedule/", {"start": (NOW - timedelta(hours=1)).isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert "start" in response.json()["fields"]


def test_front_desk_may_not_complete(session_in, front_desk_client):
    session = session_in(S.CHECKED_IN)
    response = front_desk_client.post(
        f"/api/v1/sessions/{session.id}/complete/", body_for("complete", session), format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Session.objects.get(pk=session.pk).status == S.CHECKED_IN


def test_an_unknown_session_is_404(front_desk_client):
    import uuid

    response = front_desk_client.post(f"/api/v1/sessions/{uuid.uuid4()}/cancel/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_sessions_in_the_same_action_state_are_offered_the_same_actions():
    # The calendar asks action_problem once per action_state and shares the answers: the state must hold
    # all the rule reads. Sessions of every status and kind, starting on either side of now and of the
    # local midnights around it, at 23:30 in New York on the evening before the autumn clock change.
    from scheduling.models import Location

    zone = "America/New_York"
    now = at(date(2026, 10, 31), 23, 30)
    starts = [now + timedelta(minutes=m) for m in (-24 * 60, -31, -1, 0, 1, 29, 31, 25 * 60, 26 * 60)]
    answers_by_state: dict[tuple, set] = {}
    for status in S.values:
        for kind in Session.Kind.values:
            for start in starts:
                session = Session(status=status, kind=kind, start=start, end=start + timedelta(minutes=30))
                session.location = Location(name="Manhattan", time_zone=zone)
                answers = tuple(
                    services.action_problem(session, action, now) is None
                    for action in ("check_in", "no_show", "cancel", "reschedule", "complete")
                )
                answers_by_state.setdefault(services.action_state(session, now), set()).add(answers)
    assert all(len(answers) == 1 for answers in answers_by_state.values()), answers_by_state
    assert len(answers_by_state) > len(S.values)  # the times matter, not only the status

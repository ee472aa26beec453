"""The treatment record against the PREEMPT template, vials, waste and claim lines; late and urgent adverse
events (issue 11, Must show 4 and 5), over the API a clinician uses."""

from datetime import date, timedelta

import pytest
import time_machine

from clinic.models import AuditLog
from cycles.models import Course, Protocol, ReviewFlag, TreatmentRecord
from scheduling.models import Session
from tests.factories import SessionFactory
from tests.scheduling.conftest import STANDARD, at, treatment_body

pytestmark = pytest.mark.usefixtures("now")

MONDAY = date(2027, 1, 4)


@pytest.fixture
def checked_in(patient, clinician, location):
    course = Course.objects.create(patient=patient, protocol=Protocol.default())
    return SessionFactory(
        patient=patient,
        course=course,
        clinician=clinician,
        location=location,
        start=at(MONDAY, 15),
        status=Session.Status.CHECKED_IN,
    )


def complete(client, session, adverse_events=(), **treatment):
    # A value of None leaves the key out (e.g. units_wasted, to have it computed from the vials).
    body = {k: v for k, v in {**treatment_body(), **treatment}.items() if v is not None}
    body["lot_expiry"] = str(body["lot_expiry"])
    for vial in body.get("vials", []):
        vial.setdefault("lot_number", "C1234A")
    return client.post(
        f"/api/v1/sessions/{session.id}/complete/",
        {"treatment": body, "adverse_events": list(adverse_events)},
        format="json",
    )


def test_195_units_all_in_frontalis_is_outside_the_template(checked_in, clinician_client):
    response = complete(clinician_client, checked_in, units_by_muscle={"frontalis": 195}, sites=39)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "validation_error"
    assert any("Frontalis: 195 U" in message for message in body["fields"]["treatment"])
    assert any("Corrugator: 0 U is below the standard 10 U" in message for message in body["fields"]["treatment"])
    assert not TreatmentRecord.objects.exists()
    assert Session.objects.get(pk=checked_in.pk).status == Session.Status.CHECKED_IN


def test_a_deviation_reason_records_it_keeps_the_reason_and_audits_it(checked_in, clinician_client):
    reason = "Frontalis-predominant pain after cervical surgery; agreed with the patient."
    response = complete(
        clinician_client, checked_in, units_by_muscle={"frontalis": 195}, sites=39, deviation_reason=reason
    )
    assert response.status_code == 200, response.json()
    record = TreatmentRecord.objects.get(session=checked_in)
    assert (record.total_units, record.deviation_reason) == (195, reason)
    audit = AuditLog.objects.get(action=AuditLog.Action.OVERRIDE, object_id=str(checked_in.pk))
    assert reason in audit.detail
    shown = clinician_client.get(f"/api/v1/sessions/{checked_in.id}/treatment/").json()
    assert shown["deviation_reason"] == reason


def test_follow_the_pain_within_the_maxima_needs_no_reason(checked_in, clinician_client):
    units = {**STANDARD, "temporalis": 50, "occipitalis": 40, "trapezius": 50}
    response = complete(clinician_client, checked_in, units_by_muscle=units, sites=39)
    assert response.status_code == 200, response.json()
    assert TreatmentRecord.objects.get(session=checked_in).deviation_reason == ""


def test_extra_units_outside_the_follow_the_pain_muscles_or_over_their_maxima_are_refused(checked_in, clinician_client):
    extra_procerus = complete(clinician_client, checked_in, units_by_muscle={**STANDARD, "procerus": 10}, sites=32)
    assert extra_procerus.status_code == 400
    assert "extra units go only to temporalis" in " ".join(extra_procerus.json()["fields"]["treatment"])
    over = complete(clinician_client, checked_in, units_by_muscle={**STANDARD, "trapezius": 55}, sites=36)
    assert over.status_code == 400
    assert "over the follow-the-pain maximum of 50 U" in " ".join(over.json()["fields"]["treatment"])
    sites = complete(clinician_client, checked_in, sites=30)
    assert sites.status_code == 400
    assert "30 sites for 155 U" in " ".join(sites.json()["fields"]["treatment"])


def test_155_units_from_one_200_unit_vial_wastes_45_and_bills_jw(checked_in, clinician_client):
    response = complete(clinician_client, checked_in, units_wasted=None, vials=[{"size_units": 200}])
    assert response.status_code == 200, response.json()
    record = clinician_client.get(f"/api/v1/sessions/{checked_in.id}/treatment/").json()
    assert record["units_wasted"] == 45
    assert record["vials"] == [{"size_units": 200, "lot_number": "C1234A", "lot_expiry": None}]
    assert record["billing"] == [
        {"code": "64615"},
        {"code": "J0585", "units": 155},
        {"code": "J0585", "modifier": "JW", "units": 45},
    ]


def test_200_units_from_two_100_unit_vials_bills_jz_under_a_profile_that_allows_200(
    checked_in, clinician_client, patient
):
    Course.objects.filter(pk=checked_in.course_id).update(
        protocol=Protocol.objects.create(name="Higher-dose payer", max_units=200)
    )
    units = {**STANDARD, "temporalis": 50, "occipitalis": 40, "trapezius": 50, "frontalis": 25}
    response = complete(
        clinician_client,
        checked_in,
        units_by_muscle=units,
        sites=40,
        units_wasted=None,
        vials=[{"size_units": 100}, {"size_units": 100}],
        deviation_reason="Frontalis 25 U by the payer's protocol.",
    )
    assert response.status_code == 200, response.json()
    record = clinician_client.get(f"/api/v1/sessions/{checked_in.id}/treatment/").json()
    assert record["total_units"] == 200
    assert record["units_wasted"] == 0
    assert record["billing"][-1] == {"code": "J0585", "modifier": "JZ", "units": 0}


def test_a_waste_figure_that_disagrees_with_the_vials_is_refused(checked_in, clinician_client):
    response = complete(clinician_client, checked_in, units_wasted=40, vials=[{"size_units": 200}])
    assert response.status_code == 400
    assert "45 U wasted" in response.json()["fields"]["treatment.units_wasted"][0]
    assert not TreatmentRecord.objects.exists()


def test_vials_holding_fewer_units_than_were_given_are_refused(checked_in, clinician_client):
    response = complete(clinician_client, checked_in, units_wasted=None, vials=[{"size_units": 100}])
    assert response.status_code == 400
    assert "fields" in response.json() and "treatment.vials" in response.json()["fields"]


def test_500_units_wasted_without_vials_is_refused(checked_in, clinician_client):
    response = complete(clinician_client, checked_in, units_wasted=500)
    assert response.status_code == 400
    assert "treatment.units_wasted" in response.json()["fields"]


def test_diplopia_even_mild_opens_an_urgent_adverse_event_flag(checked_in, clinician_client):
    response = complete(clinician_client, checked_in, adverse_events=[{"kind": "diplopia", "severity": "mild"}])
    assert response.status_code == 200, response.json()
    flag = ReviewFlag.objects.get(kind=ReviewFlag.Kind.ADVERSE_EVENT)
    assert flag.details["events"] == [{"kind": "diplopia", "severity": "mild"}]


def test_neck_pain_mild_opens_no_flag(checked_in, clinician_client):
    complete(clinician_client, checked_in, adverse_events=[{"kind": "neck_pain", "severity": "mild"}])
    assert not ReviewFlag.objects.exists()


def test_a_late_adverse_event_a_week_after_the_visit_opens_the_flag_too(checked_in, clinician_client, now):
    assert complete(clinician_client, checked_in).status_code == 200
    now.shift(timedelta(days=7))
    response = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/adverse-events/",
        {"kind": "dysphonia", "severity": "moderate", "note": "Hoarse since day 5.", "onset_on": "2027-01-09"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["reported_late"] is True
    flag = ReviewFlag.objects.get(kind=ReviewFlag.Kind.ADVERSE_EVENT)
    assert flag.details["events"] == [{"kind": "dysphonia", "severity": "moderate"}]
    record = clinician_client.get(f"/api/v1/sessions/{checked_in.id}/treatment/").json()
    assert [e["kind"] for e in record["adverse_events"]] == ["dysphonia"]


def test_a_late_adverse_event_needs_a_completed_session(checked_in, clinician_client):
    response = clinician_client.post(
        f"/api/v1/sessions/{checked_in.id}/adverse-events/", {"kind": "ptosis", "severity": "mild"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_front_desk_may_read_neither_the_record_nor_post_a_late_event(checked_in, clinician_client, front_desk_client):
    assert complete(clinician_client, checked_in).status_code == 200
    assert front_desk_client.get(f"/api/v1/sessions/{checked_in.id}/treatment/").status_code == 403
    response = front_desk_client.post(
        f"/api/v1/sessions/{checked_in.id}/adverse-events/", {"kind": "ptosis", "severity": "mild"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_treatment_record_takes_the_same_queries_whatever_its_adverse_events(
    checked_in, clinician_client, django_assert_num_queries
):
    events = [{"kind": "neck_pain", "severity": "mild"}] * 3
    assert complete(clinician_client, checked_in, adverse_events=events).status_code == 200
    url = f"/api/v1/sessions/{checked_in.id}/treatment/"
    # 1 the token with its user and roles, 2 record with its session, 3 the session's adverse events, 4 audit row
    with django_assert_num_queries(4):
        assert len(clinician_client.get(url).json()["adverse_events"]) == 3


def test_the_treatment_record_of_an_unknown_session_is_404(clinician_client):
    with time_machine.travel(at(MONDAY, 16)):
        response = clinician_client.get("/api/v1/sessions/00000000-0000-0000-0000-000000000000/treatment/")
    assert response.status_code == 404

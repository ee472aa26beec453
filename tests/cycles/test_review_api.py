"""The review-flag API: clinician only, filters, resolve, error shapes, audit, pinned queries."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from clinic.models import AuditLog
from cycles.models import ReviewFlag
from scheduling.models import Session
from tests.cycle import clinic, treated_course
from tests.factories import ReviewFlagFactory, SessionFactory

NOW = datetime(2027, 2, 1, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def flag(db):
    return ReviewFlagFactory(details={"baseline": 20.0, "reduction_pct": 20.0})


def test_front_desk_gets_403_on_review_flags(front_desk_client, flag):
    response = front_desk_client.get("/api/v1/review-flags/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    response = front_desk_client.post(f"/api/v1/review-flags/{flag.pk}/resolve/", {"decision": "continue"})
    assert response.status_code == 403
    flag.refresh_from_db()
    assert flag.status == "open"


def test_anonymous_gets_401(anon_client, flag):
    assert anon_client.get("/api/v1/review-flags/").json()["code"] == "not_authenticated"


def test_clinicians_list_flags_with_their_numbers(clinician_client, flag):
    body = clinician_client.get("/api/v1/review-flags/?status=open").json()
    assert body["count"] == 1
    [row] = body["results"]
    assert {k: row[k] for k in ("id", "patient", "kind", "cycle", "details", "status")} == {
        "id": str(flag.pk),
        "patient": str(flag.patient_id),
        "kind": "no_benefit",
        "cycle": 3,
        "details": {"baseline": 20.0, "reduction_pct": 20.0},
        "status": "open",
    }
    assert row["raised_at"].endswith("Z") or row["raised_at"][-6] in "+-"


def test_flags_filter_by_status_and_kind(clinician_client, flag):
    other = ReviewFlagFactory(kind="overdue", cycle=1)
    ReviewFlagFactory(kind="overdue", cycle=2, status="resolved", course=other.course)
    ids = lambda query: {r["id"] for r in clinician_client.get(f"/api/v1/review-flags/{query}").json()["results"]}  # noqa: E731
    assert ids("?status=open") == {str(flag.pk), str(other.pk)}
    assert ids("?status=open&kind=overdue") == {str(other.pk)}
    assert len(ids("?kind=overdue")) == 2
    assert len(ids("")) == 3


def test_an_unknown_status_or_kind_is_a_400_naming_the_field(clinician_client, flag):
    response = clinician_client.get("/api/v1/review-flags/?kind=bogus&status=closed")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"kind", "status"}


def test_listing_flags_takes_constant_queries_and_audits_each_patient(clinician_client, django_assert_num_queries, db):
    for _ in range(5):
        ReviewFlagFactory()
    clinician_client.get("/api/v1/review-flags/")  # warm the role cache of the client's user object
    # 1 the token with its user and roles, 2 count, 3 the page of flags, 4 audit insert
    with django_assert_num_queries(4):
        assert clinician_client.get("/api/v1/review-flags/").json()["count"] == 5
    for _ in range(20):
        ReviewFlagFactory()
    with django_assert_num_queries(4):
        assert clinician_client.get("/api/v1/review-flags/").json()["count"] == 25
    reads = AuditLog.objects.filter(resource="review_flag", action="read")
    assert reads.values("patient_id").distinct().count() == 25


def test_resolving_records_the_decision_and_a_second_resolve_is_409(clinician_client, clinician_user, flag):
    response = clinician_client.post(
        f"/api/v1/review-flags/{flag.pk}/resolve/", {"decision": "continue", "note": "Try one more cycle."}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["decision"], body["note"]) == ("resolved", "continue", "Try one more cycle.")
    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolved_at) == (clinician_user, NOW)
    assert flag.course.status == "active"
    again = clinician_client.post(f"/api/v1/review-flags/{flag.pk}/resolve/", {"decision": "stop"})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    flag.course.refresh_from_db()
    assert flag.course.status == "active"
    assert AuditLog.objects.filter(resource="review_flag", action="update", patient_id=flag.patient_id).count() == 1


def test_resolve_needs_a_known_decision(clinician_client, flag):
    for payload in ({}, {"decision": "pause"}):
        response = clinician_client.post(f"/api/v1/review-flags/{flag.pk}/resolve/", payload)
        assert response.status_code == 400
        assert "decision" in response.json()["fields"]
    flag.refresh_from_db()
    assert flag.status == "open"


def test_resolving_an_unknown_flag_is_404(clinician_client, db):
    response = clinician_client.post(
        "/api/v1/review-flags/7d1b6f1c-8d4a-4a8e-9b7e-0c6f7d1f2a3b/resolve/", {"decision": "stop"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_stop_stops_the_course_and_cancels_its_future_sessions_only(clinician_client, db):
    location, (lee, _) = clinic()
    course = treated_course(location=location, clinician=lee, treated_on=[datetime(2027, 1, 5).date()])
    upcoming = SessionFactory(
        patient=course.patient, course=course, clinician=lee, location=location, start=NOW + timedelta(days=50)
    )
    consult = SessionFactory(
        patient=course.patient,
        course=course,
        clinician=lee,
        location=location,
        start=NOW + timedelta(days=3),
        kind=Session.Kind.CONSULTATION,
    )
    flag = ReviewFlagFactory(course=course, cycle=1)
    other = ReviewFlagFactory(course=course, cycle=1, kind="missing_response_data")
    elsewhere = ReviewFlagFactory(cycle=1)
    response = clinician_client.post(f"/api/v1/review-flags/{flag.pk}/resolve/", {"decision": "stop", "note": "x"})
    assert response.status_code == 200
    course.refresh_from_db()
    assert course.status == "stopped"
    assert set(Session.objects.filter(course=course).values_list("status", flat=True)) == {"completed", "cancelled"}
    for session in (upcoming, consult):
        session.refresh_from_db()
        assert session.status == "cancelled"
        assert session.cancel_reason
    assert ReviewFlag.objects.get(pk=flag.pk).decision == "stop"
    other.refresh_from_db()
    assert (other.status, other.decision) == ("resolved", "stop")
    elsewhere.refresh_from_db()
    assert elsewhere.status == "open"

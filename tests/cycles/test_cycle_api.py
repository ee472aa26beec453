"""The cycle end to end over the API: completing plans the next session, the due list, review_required."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from cycles.models import Protocol, ReviewFlag
from scheduling.models import Session
from tests.cycle import STANDARD_TREATMENT, at, clinic, diary, treated_course
from tests.factories import ReviewFlagFactory, SessionFactory

NOW = datetime(2027, 1, 5, 14, 5, tzinfo=UTC)  # 09:05 in New York


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def complete(client, session, capture):
    with capture(execute=True):
        return client.post(
            f"/api/v1/sessions/{session.pk}/complete/",
            {"treatment": {**STANDARD_TREATMENT, "lot_expiry": "2028-01-31"}, "adverse_events": [], "notes": ""},
        )


@pytest.fixture
def checked_in(db):
    location, (lee, _) = clinic()
    session = SessionFactory(clinician=lee, location=location, start=at(date(2027, 1, 5), 9), status="checked_in")
    return session


def test_completing_a_treatment_books_the_next_one_84_days_later_at_0900_local_across_dst(
    clinician_client, checked_in, django_capture_on_commit_callbacks
):
    response = complete(clinician_client, checked_in, django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    [booked] = Session.objects.filter(course=checked_in.course, status="booked")
    assert booked.start == at(date(2027, 3, 30), 9)
    assert booked.start.astimezone(UTC) == datetime(2027, 3, 30, 13, tzinfo=UTC)  # EDT; the first was 14:00 UTC
    assert (booked.clinician_id, booked.location_id, booked.auto_booked) == (
        checked_in.clinician_id,
        checked_in.location_id,
        True,
    )
    detail = clinician_client.get(f"/api/v1/sessions/{booked.pk}/").json()
    assert detail["auto_booked"] is True
    assert detail["review_required"] is False


def test_the_next_session_is_planned_only_once_the_completion_has_committed(
    clinician_client, checked_in, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = clinician_client.post(
            f"/api/v1/sessions/{checked_in.pk}/complete/",
            {"treatment": {**STANDARD_TREATMENT, "lot_expiry": "2028-01-31"}, "adverse_events": [], "notes": ""},
        )
    assert response.status_code == 200, response.content
    booked = Session.objects.filter(course=checked_in.course, status="booked")
    assert not booked.exists()  # a task run inside the transaction could book against a rolled-back completion
    for callback in callbacks:
        callback()
    assert booked.filter(auto_booked=True).count() == 1


def test_an_open_no_benefit_flag_allows_booking_but_blocks_completion_until_resolved(
    clinician_client, checked_in, django_capture_on_commit_callbacks
):
    flag = ReviewFlagFactory(course=checked_in.course, cycle=3)
    assert clinician_client.get(f"/api/v1/sessions/{checked_in.pk}/").json()["review_required"] is True
    blocked = complete(clinician_client, checked_in, django_capture_on_commit_callbacks)
    assert blocked.status_code == 409
    assert blocked.json()["code"] == "review_required"
    checked_in.refresh_from_db()
    assert checked_in.status == "checked_in"
    assert (
        clinician_client.post(f"/api/v1/review-flags/{flag.pk}/resolve/", {"decision": "continue"}).status_code == 200
    )
    assert clinician_client.get(f"/api/v1/sessions/{checked_in.pk}/").json()["review_required"] is False
    assert complete(clinician_client, checked_in, django_capture_on_commit_callbacks).status_code == 200


def test_a_patient_with_an_open_no_benefit_flag_can_still_be_booked(front_desk_client, db):
    location, (lee, _) = clinic()
    course = treated_course(location=location, clinician=lee, treated_on=[date(2026, 10, 1)])
    ReviewFlagFactory(course=course, cycle=3)
    response = front_desk_client.post(
        "/api/v1/sessions/",
        {
            "patient": str(course.patient_id),
            "clinician": str(lee.pk),
            "location": str(location.pk),
            "start": at(date(2027, 1, 12), 10).isoformat(),
            "kind": "treatment",
        },
    )
    assert response.status_code == 201, response.content
    assert "review_required" not in response.json()  # front desk learns nothing of the review


# --- the due list -----------------------------------------------------------------------------------


@pytest.fixture
def due_setting(db):
    location, (lee, patel) = clinic()
    days = {
        "overdue": date(2026, 9, 1),  # due_by 2026-12-08
        "due_now": date(2026, 10, 20),  # due 2027-01-12 .. 2027-01-26
        "edge": date(2026, 10, 26),  # due_from 2027-01-18 = today + 13
        "edge_out": date(2026, 10, 29),  # due_from 2027-01-21 = today + 16
    }
    courses = {name: treated_course(location=location, clinician=lee, treated_on=[d]) for name, d in days.items()}
    booked = treated_course(location=location, clinician=patel, treated_on=[date(2026, 10, 20)])
    SessionFactory(
        patient=booked.patient, course=booked, clinician=patel, location=location, start=at(date(2027, 1, 13))
    )
    return courses


def test_the_front_desk_sees_the_due_list_with_overdue_first(front_desk_client, due_setting):
    response = front_desk_client.get("/api/v1/due/?within_days=14")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [r["course"] for r in body["results"]] == [
        str(due_setting[name].pk) for name in ("overdue", "due_now", "edge")
    ]
    first = body["results"][0]
    assert {k: first[k] for k in ("patient", "last_treatment", "due_from", "due_by", "overdue")} == {
        "patient": str(due_setting["overdue"].patient_id),
        "last_treatment": "2026-09-01",
        "due_from": "2026-11-24",
        "due_by": "2026-12-08",
        "overdue": True,
    }
    assert body["results"][1]["overdue"] is False
    assert body["next"] is None and body["previous"] is None


def test_within_days_defaults_to_14_and_widens_the_list(clinician_client, due_setting):
    assert clinician_client.get("/api/v1/due/").json()["count"] == 3
    assert clinician_client.get("/api/v1/due/?within_days=16").json()["count"] == 4
    assert clinician_client.get("/api/v1/due/?within_days=7").json()["count"] == 2  # due_now: due_from = today + 7
    assert clinician_client.get("/api/v1/due/?within_days=6").json()["count"] == 1
    assert clinician_client.get("/api/v1/due/?within_days=0").json()["count"] == 1


def test_a_bad_within_days_is_a_400_naming_the_field(front_desk_client, db):
    for value in ("soon", "-1", "100000"):
        response = front_desk_client.get(f"/api/v1/due/?within_days={value}")
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
        assert "within_days" in response.json()["fields"]


def test_the_due_list_needs_a_login(anon_client, db):
    assert anon_client.get("/api/v1/due/").status_code == 401


def test_the_due_list_follows_the_protocol(front_desk_client, due_setting):
    Protocol.objects.filter(is_default=True).update(min_interval_days=70, interval_days=70, window_days=7)
    body = front_desk_client.get("/api/v1/due/?within_days=2").json()
    rows = {r["course"]: r for r in body["results"]}
    edge = rows[str(due_setting["edge_out"].pk)]
    assert (edge["due_from"], edge["due_by"]) == ("2027-01-07", "2027-01-14")


def test_the_due_list_takes_constant_queries(front_desk_client, django_assert_num_queries, db):
    location, (lee, _) = clinic()

    made = []

    def add(n):
        for _ in range(n):
            i = len(made)  # a distinct day and hour each: one clinician cannot be in two places
            made.append(
                treated_course(
                    location=location,
                    clinician=lee,
                    treated_on=[date(2026, 10, 1) + timedelta(days=i % 20)],
                    hour=9 + i // 20,
                )
            )

    add(3)
    # 1 the token with its user and roles, 2 active protocol, 3 location zones, 4 count,
    # 5 page of courses with patients, 6 audit insert
    with django_assert_num_queries(6):
        assert front_desk_client.get("/api/v1/due/").json()["count"] == 3
    add(40)
    with django_assert_num_queries(6):
        assert front_desk_client.get("/api/v1/due/").json()["count"] == 43


def test_an_auto_booking_failure_shows_on_the_due_list(front_desk_client, due_setting):
    course = due_setting["due_now"]
    ReviewFlagFactory(course=course, kind=ReviewFlag.Kind.AUTO_BOOKING_FAILED, cycle=1)
    rows = {r["course"]: r for r in front_desk_client.get("/api/v1/due/").json()["results"]}
    assert rows[str(course.pk)]["auto_booking_failed"] is True
    assert rows[str(due_setting["overdue"].pk)]["auto_booking_failed"] is False


def test_completing_a_treatment_reviews_the_patient(clinician_client, django_capture_on_commit_callbacks, db):
    location, (lee, _) = clinic()
    t1 = date(2027, 1, 5) - timedelta(days=252)
    course = treated_course(
        location=location, clinician=lee, treated_on=[t1 + timedelta(days=84 * k) for k in range(3)]
    )
    diary(course.patient, t1 - timedelta(days=84), [20, 20, 20])
    diary(course.patient, t1, [18, 18, 18, 17, 17, 17, 16])
    fourth = SessionFactory(
        patient=course.patient,
        course=course,
        clinician=lee,
        location=location,
        start=at(date(2027, 1, 5), 9),
        status="checked_in",
    )
    assert not ReviewFlag.objects.exists()  # no sweep has run yet
    assert complete(clinician_client, fourth, django_capture_on_commit_callbacks).status_code == 200
    [flag] = ReviewFlag.objects.all()
    assert (flag.course_id, flag.kind, flag.cycle) == (course.pk, "no_benefit", 3)
    # The next session was planned too; completing it will wait for the clinician's review.
    assert Session.objects.filter(course=course, status="booked", auto_booked=True).count() == 1

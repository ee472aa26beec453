"""Prior authorisation (DESIGN.md §2, API.md "Prior authorisation"): a course on a payer's profile that
requires it books, moves, plans and completes a treatment only inside an approved authorisation with a
treatment left; the due list and the renewal queue show what needs renewing.

Time is pinned to Tuesday 2027-01-05 15:00 in New York. The course's last treatment was on Saturday
2026-10-17, so its next is due from Saturday 2027-01-09 to Saturday 2027-01-23.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from clinic.models import AuditLog
from cycles import authorizations, planner, rules
from cycles.models import Authorization, Course, Protocol, ReviewFlag
from scheduling.models import Session
from tests.cycle import at, clinic, treated_course
from tests.factories import AuthorizationFactory

NOW = datetime(2027, 1, 5, 20, 0, tzinfo=UTC)
TODAY = date(2027, 1, 5)
LAST = TODAY - timedelta(days=80)  # 2026-10-17
API = "/api/v1"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def place(db):
    return clinic()


@pytest.fixture
def us_payer(db):
    return Protocol.objects.create(name="US payer", requires_authorization=True, response_threshold_pct=50)


@pytest.fixture
def course(place, us_payer):
    location, (lee, _) = place
    course = treated_course(location=location, clinician=lee, treated_on=[LAST])
    Course.objects.filter(pk=course.pk).update(protocol=us_payer)
    course.refresh_from_db()
    return course


def book(client, course, day: date, hour: int = 10, **extra):
    last = course.sessions.order_by("start").first()
    body = {
        "patient": str(course.patient_id),
        "clinician": str(last.clinician_id),
        "location": str(last.location_id),
        "start": at(day, hour).isoformat(),
        "kind": "treatment",
        **extra,
    }
    return client.post(f"{API}/sessions/", body, format="json")


def approve(client, course, *, treatments: int = 2, valid_from: date = TODAY, days: int = 180, **extra):
    body = {
        "payer": "Aetna",
        "reference": "PA-778812",
        "status": "approved",
        "treatments_approved": treatments,
        "valid_from": valid_from.isoformat(),
        "valid_to": (valid_from + timedelta(days=days)).isoformat(),
        **extra,
    }
    response = client.post(f"{API}/courses/{course.pk}/authorizations/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def due_row(client, course) -> dict:
    rows = client.get(f"{API}/due/", {"within_days": 366}).json()["results"]
    [row] = [r for r in rows if r["course"] == str(course.pk)]
    return row


# --- Must show 1: the rule on every path ----------------------------------------------------------------


def test_without_an_approval_booking_is_422_the_planner_books_nothing_and_the_due_row_says_missing(
    course, front_desk_client
):
    response = book(front_desk_client, course, date(2027, 1, 11))
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["code"] == "authorization_required"
    assert "No approved prior authorisation covers Mon 11 Jan 2027" in body["detail"]
    assert not Session.objects.filter(status="booked").exists()

    assert planner.course_plan_next(course_id=course.pk) == planner.PlanResult(
        planner.PlanOutcome.SKIPPED, reason="needs prior authorisation"
    )
    assert planner.plan_sweep() == {"booked": 0, "failed": 0, "already_booked": 0, "skipped": 0}
    assert not Session.objects.filter(status="booked").exists()
    assert not ReviewFlag.objects.filter(kind="auto_booking_failed").exists()  # left to the due list, not a failure

    assert due_row(front_desk_client, course)["authorization"] == {
        "status": "missing",
        "valid_to": None,
        "treatments_left": None,
    }


def test_an_approval_for_two_treatments_books_two_and_refuses_a_third_after_its_end_and_a_move_out_of_it(
    course, front_desk_client, clinician_client
):
    approval = approve(front_desk_client, course, treatments=2)  # Tue 5 Jan 2027 to Sun 4 Jul 2027
    assert (approval["treatments_used"], approval["treatments_left"], approval["valid_to"]) == (0, 2, "2027-07-04")
    assert due_row(front_desk_client, course)["authorization"] == {
        "status": "ok",
        "valid_to": "2027-07-04",
        "treatments_left": 2,
    }

    first = book(front_desk_client, course, date(2027, 1, 11))
    assert first.status_code == 201, first.json()

    # After valid_to (and 180 days after the first: the interval allows it): refused.
    after = book(front_desk_client, course, date(2027, 7, 10))
    assert after.status_code == 422 and after.json()["code"] == "authorization_required"

    second = book(front_desk_client, course, date(2027, 4, 5))  # the first + 84 days
    assert second.status_code == 201, second.json()
    detail = front_desk_client.get(f"{API}/authorizations/{approval['id']}/").json()
    assert (detail["treatments_used"], detail["treatments_left"]) == (2, 0)

    # Moving the second out of the approval: refused, and it stays where it was.
    moved = front_desk_client.post(
        f"{API}/sessions/{second.json()['id']}/reschedule/", {"start": at(date(2027, 7, 10), 10).isoformat()}
    )
    assert moved.status_code == 422 and moved.json()["code"] == "authorization_required"
    assert Session.objects.get(pk=second.json()["id"]).start == at(date(2027, 4, 5), 10)
    # Moving it inside the approval is fine: the session being moved is not counted against itself.
    inside = front_desk_client.post(
        f"{API}/sessions/{second.json()['id']}/reschedule/", {"start": at(date(2027, 4, 6), 11).isoformat()}
    )
    assert inside.status_code == 200, inside.json()

    # A third inside the range (84 days after the second): none left.
    third = book(front_desk_client, course, date(2027, 6, 29))
    assert third.status_code == 422
    assert third.json()["code"] == "authorization_required"
    assert third.json()["authorization"] == approval["id"]
    assert "has no treatment left: 2 approved" in third.json()["detail"]

    # Front desk cannot override; a clinician can, and it is audited.
    reason = "payer confirmed the extension by phone, letter to follow"
    assert book(front_desk_client, course, date(2027, 6, 29), override_reason=reason).status_code == 403
    overridden = book(clinician_client, course, date(2027, 6, 29), override_reason=reason)
    assert overridden.status_code == 201, overridden.json()
    audit = AuditLog.objects.get(action=AuditLog.Action.OVERRIDE, object_id=overridden.json()["id"])
    assert (audit.patient_id, audit.detail, audit.user.username) == (course.patient_id, reason, "clinician")


def test_a_pending_or_denied_authorisation_approves_nothing(course, front_desk_client):
    pending = approve(front_desk_client, course, status="pending")
    assert book(front_desk_client, course, date(2027, 1, 11)).json()["code"] == "authorization_required"
    front_desk_client.patch(f"{API}/authorizations/{pending['id']}/", {"status": "denied"}, format="json")
    assert book(front_desk_client, course, date(2027, 1, 11)).json()["code"] == "authorization_required"
    front_desk_client.patch(f"{API}/authorizations/{pending['id']}/", {"status": "approved"}, format="json")
    assert book(front_desk_client, course, date(2027, 1, 11)).status_code == 201


def test_the_local_date_decides_late_in_the_evening(course, front_desk_client, place):
    """23:00 on Sun 4 Jul 2027 in New York is already 5 Jul in UTC: still inside an approval ending on the 4th."""
    _, (lee, _) = place
    lee.working_hours.update(end_time="23:59")
    approve(front_desk_client, course, treatments=1, valid_from=date(2027, 4, 1), days=94)  # to Sun 4 Jul
    assert book(front_desk_client, course, date(2027, 7, 4), hour=23).status_code == 201


def test_a_cancelled_treatment_gives_its_place_back(course, front_desk_client):
    approve(front_desk_client, course, treatments=1)
    first = book(front_desk_client, course, date(2027, 1, 11)).json()
    assert book(front_desk_client, course, date(2027, 4, 5)).status_code == 422
    front_desk_client.post(f"{API}/sessions/{first['id']}/cancel/", {"reason": "patient unwell"})
    assert book(front_desk_client, course, date(2027, 4, 5)).status_code == 201


def test_completing_a_treatment_outside_its_approval_is_422_unless_a_clinician_overrides(
    course, front_desk_client, clinician_client, _now
):
    approval = approve(front_desk_client, course, treatments=1)
    booked = book(front_desk_client, course, date(2027, 1, 11)).json()
    # The payer withdraws the approval before the visit.
    front_desk_client.patch(f"{API}/authorizations/{approval['id']}/", {"status": "denied"}, format="json")
    _now.move_to(at(date(2027, 1, 11), 9))
    assert front_desk_client.post(f"{API}/sessions/{booked['id']}/check-in/").status_code == 200
    treatment = {
        "units_by_muscle": {"corrugator": 10, "procerus": 5, "frontalis": 20, "temporalis": 40}
        | {"occipitalis": 30, "cervical_paraspinal": 20, "trapezius": 30},
        "sites": 31,
        "units_wasted": 0,
        "lot_number": "C1234A",
        "lot_expiry": "2028-06-30",
    }
    url = f"{API}/sessions/{booked['id']}/complete/"
    refused = clinician_client.post(url, {"treatment": treatment}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "authorization_required"
    assert Session.objects.get(pk=booked["id"]).status == "checked_in"
    reason = "appeal lodged; treating on clinical grounds"
    done = clinician_client.post(url, {"treatment": treatment, "override_reason": reason}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "completed"
    assert AuditLog.objects.filter(action="override", object_id=booked["id"], detail=reason).count() == 1


def test_completing_inside_the_approval_needs_nothing_more(course, front_desk_client, clinician_client, _now):
    approve(front_desk_client, course, treatments=1)
    booked = book(front_desk_client, course, date(2027, 1, 11)).json()
    _now.move_to(at(date(2027, 1, 11), 9))
    front_desk_client.post(f"{API}/sessions/{booked['id']}/check-in/")
    treatment = {
        "units_by_muscle": dict(zip(rules.MUSCLE_NAMES, [10, 5, 20, 40, 30, 20, 30], strict=True)),
        "lot_number": "C1234A",
        "lot_expiry": "2028-06-30",
    }
    response = clinician_client.post(f"{API}/sessions/{booked['id']}/complete/", {"treatment": treatment})
    assert response.status_code == 200, response.json()


def test_the_planner_books_inside_the_approval_and_skips_a_course_whose_approval_misses_the_window(place, us_payer):
    location, (lee, patel) = place
    covered = treated_course(location=location, clinician=lee, treated_on=[TODAY - timedelta(days=7)])
    uncovered = treated_course(location=location, clinician=patel, treated_on=[TODAY - timedelta(days=7)])
    Course.objects.filter(pk__in=[covered.pk, uncovered.pk]).update(protocol=us_payer)
    # Treated Tue 29 Dec 2026: the window is Tue 23 Mar to Tue 6 Apr 2027, the target Tue 23 Mar at 09:00.
    AuthorizationFactory(course=covered, valid_from=TODAY, valid_to=date(2027, 9, 1))
    AuthorizationFactory(course=uncovered, valid_from=TODAY, valid_to=date(2027, 3, 20))
    result = planner.plan_sweep()
    assert result == {"booked": 1, "failed": 0, "already_booked": 0, "skipped": 1}
    [session] = Session.objects.filter(auto_booked=True)
    assert session.course_id == covered.pk
    assert session.start == at(date(2027, 3, 23), 9)


def test_the_planner_takes_a_slot_inside_an_approval_that_covers_part_of_the_window(place, us_payer):
    location, (lee, _) = place
    course = treated_course(location=location, clinician=lee, treated_on=[TODAY - timedelta(days=7)])
    Course.objects.filter(pk=course.pk).update(protocol=us_payer)
    # The window is Tue 23 Mar to Tue 6 Apr 2027; the approval starts on Fri 2 Apr.
    AuthorizationFactory(course=course, valid_from=date(2027, 4, 2), valid_to=date(2027, 9, 1))
    assert planner.course_plan_next(course_id=course.pk).outcome == planner.PlanOutcome.BOOKED
    [session] = Session.objects.filter(auto_booked=True)
    assert session.start == at(date(2027, 4, 2), 9)  # the free slot inside it nearest the target


def test_a_course_on_a_profile_without_authorisation_is_untouched(place, front_desk_client):
    location, (lee, _) = place
    course = treated_course(location=location, clinician=lee, treated_on=[LAST])
    assert book(front_desk_client, course, date(2027, 1, 11)).status_code == 201
    assert course.authorizations.count() == 0


# --- Must show 2: expiring ------------------------------------------------------------------------------


def test_25_days_left_is_in_the_30_day_queue_not_the_20_day_one_and_the_due_row_says_expiring(
    course, front_desk_client
):
    # From Sun 2 Aug 2026: the last treatment (Sat 17 Oct 2026) is inside it, one of three used.
    approval = approve(front_desk_client, course, treatments=3, valid_from=TODAY - timedelta(days=155), days=180)
    assert approval["valid_to"] == (TODAY + timedelta(days=25)).isoformat()
    assert (approval["treatments_used"], approval["treatments_left"]) == (1, 2)
    listed = front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": 30}).json()
    assert [row["id"] for row in listed["results"]] == [approval["id"]]
    assert listed["results"][0]["expiring"] is True
    assert front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": 20}).json()["count"] == 0
    assert due_row(front_desk_client, course)["authorization"] == {
        "status": "expiring",
        "valid_to": approval["valid_to"],
        "treatments_left": 2,
    }


def test_one_treatment_left_is_expiring_whatever_the_date(place, us_payer, front_desk_client):
    location, (lee, _) = place
    # Treated inside the approval on 2026-12-28: one of two used, five months still to run.
    course = treated_course(location=location, clinician=lee, treated_on=[date(2026, 12, 28)])
    Course.objects.filter(pk=course.pk).update(protocol=us_payer)
    approval = approve(front_desk_client, course, treatments=2, valid_from=date(2026, 12, 1), days=200)
    assert (approval["treatments_left"], approval["expiring"]) == (1, True)
    for days in (0, 30):
        rows = front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": days}).json()["results"]
        assert [row["id"] for row in rows] == [approval["id"]]
    assert due_row(front_desk_client, course)["authorization"] == {
        "status": "expiring",
        "valid_to": "2027-06-19",
        "treatments_left": 1,
    }
    # Renew by: the treatment after the next one (2026-12-28 + 2 × 84 days) is the first it has no room for.
    assert approval["renew_by"] == "2027-06-14"


def test_a_renewal_already_approved_makes_the_due_row_ok(course, front_desk_client):
    approve(front_desk_client, course, treatments=3, valid_from=TODAY - timedelta(days=155), days=180)
    renewal = approve(front_desk_client, course, treatments=2, valid_from=TODAY + timedelta(days=26), days=180)
    assert due_row(front_desk_client, course)["authorization"] == {
        "status": "ok",
        "valid_to": renewal["valid_to"],
        "treatments_left": 2,
    }


def test_two_treatments_left_far_from_the_end_or_an_ended_one_is_not_expiring(course, front_desk_client):
    approve(front_desk_client, course, treatments=2, days=180)
    approve(front_desk_client, course, treatments=2, valid_from=date(2026, 6, 1), days=180)  # ended 2026-11-28
    assert front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": 30}).json()["count"] == 0
    assert front_desk_client.get(f"{API}/authorizations/").json()["count"] == 2


def test_the_daily_job_marks_the_expiring_and_clears_what_no_longer_is_and_a_second_run_does_nothing(
    course, front_desk_client, _now
):
    soon = AuthorizationFactory(
        course=course, treatments_approved=3, valid_from=TODAY - timedelta(days=100), valid_to=TODAY + timedelta(10)
    )
    later = AuthorizationFactory(course=course, valid_from=TODAY + timedelta(days=11), valid_to=date(2027, 9, 1))
    assert authorizations.expiring_sweep() == {"authorizations": 2, "marked": 1, "cleared": 0}
    soon.refresh_from_db()
    assert (soon.expiring, soon.expiring_since) == (True, NOW)
    assert not Authorization.objects.get(pk=later.pk).expiring
    assert authorizations.expiring_sweep() == {"authorizations": 2, "marked": 0, "cleared": 0}
    # The payer extends it: the next run clears the mark.
    front_desk_client.patch(f"{API}/authorizations/{soon.pk}/", {"valid_to": "2027-06-01"}, format="json")
    assert authorizations.expiring_sweep() == {"authorizations": 2, "marked": 0, "cleared": 1}
    assert Authorization.objects.filter(expiring=True).count() == 0
    # Time passes: 25 days before 1 Sep the later one is marked, once.
    _now.move_to(datetime(2027, 8, 7, 20, tzinfo=UTC))
    assert authorizations.expiring_sweep()["marked"] == 1
    assert authorizations.expiring_sweep()["marked"] == 0


def test_the_job_runs_from_run_jobs(course):
    from django.core.management import call_command

    AuthorizationFactory(course=course, valid_to=TODAY + timedelta(days=5), valid_from=TODAY - timedelta(days=5))
    call_command("run_jobs", "--only", "cycles.mark_expiring_authorizations", "--no-deliver")
    assert Authorization.objects.get().expiring is True


# --- the API: fields, validation, roles --------------------------------------------------------------


def test_valid_to_before_valid_from_is_400_on_create_and_on_patch(course, front_desk_client):
    url = f"{API}/courses/{course.pk}/authorizations/"
    body = {"payer": "Aetna", "status": "approved", "treatments_approved": 2}
    response = front_desk_client.post(url, {**body, "valid_from": "2027-02-01", "valid_to": "2027-01-31"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and "valid_to" in response.json()["fields"]
    created = front_desk_client.post(url, {**body, "valid_from": "2027-02-01", "valid_to": "2027-02-01"}).json()
    patched = front_desk_client.patch(f"{API}/authorizations/{created['id']}/", {"valid_to": "2027-01-15"})
    assert patched.status_code == 400 and "valid_to" in patched.json()["fields"]
    assert Authorization.objects.get().valid_to == date(2027, 2, 1)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"treatments_approved": 0}, "treatments_approved"),  # an approval of nothing
        ({"treatments_approved": -1}, "treatments_approved"),
        ({"status": "granted"}, "status"),
        ({"payer": ""}, "payer"),
        ({"valid_from": "1800-01-01"}, "valid_from"),
        ({"valid_to": "not a date"}, "valid_to"),
        ({"units_approved": 0}, "units_approved"),
    ],
)
def test_bad_authorisations_are_400_naming_the_field(course, front_desk_client, change, field):
    body = {"payer": "Aetna", "status": "approved", "treatments_approved": 2}
    body |= {"valid_from": "2027-01-05", "valid_to": "2027-07-04", **change}
    response = front_desk_client.post(f"{API}/courses/{course.pk}/authorizations/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Authorization.objects.exists()


def test_the_authorisation_has_the_contract_fields_and_lists_filter_by_status(course, front_desk_client):
    approval = approve(front_desk_client, course, units_approved=310, notes="faxed 4 Jan")
    assert set(approval) >= {
        "id",
        "course",
        "payer",
        "reference",
        "status",
        "treatments_approved",
        "units_approved",
        "valid_from",
        "valid_to",
        "notes",
        "treatments_used",
        "treatments_left",
    }
    assert (approval["course"], approval["units_approved"], approval["patient"]) == (
        str(course.pk),
        310,
        str(course.patient_id),
    )
    pending = approve(front_desk_client, course, status="pending", treatments=0)
    rows = front_desk_client.get(f"{API}/courses/{course.pk}/authorizations/").json()["results"]
    assert {r["id"] for r in rows} == {approval["id"], pending["id"]}
    only = front_desk_client.get(f"{API}/authorizations/", {"status": "pending"}).json()["results"]
    assert [r["id"] for r in only] == [pending["id"]]
    assert front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": -1}).status_code == 400
    assert front_desk_client.get(f"{API}/courses/{Authorization.objects.first().pk}/authorizations/").status_code == (
        404
    )


def test_reading_and_writing_authorisations_is_audited_per_patient(course, front_desk_client):
    approval = approve(front_desk_client, course)
    front_desk_client.get(f"{API}/authorizations/")
    front_desk_client.patch(f"{API}/authorizations/{approval['id']}/", {"reference": "PA-1"}, format="json")
    actions = list(
        AuditLog.objects.filter(resource="authorization", patient_id=course.patient_id)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "read", "update"]


@pytest.mark.parametrize("n", [3, 30])
def test_the_authorisations_list_takes_the_same_queries_for_3_and_30(
    place, us_payer, front_desk_client, n, django_assert_num_queries
):
    location, (lee, _) = place
    for i in range(n):
        course = treated_course(
            location=location, clinician=lee, treated_on=[LAST + timedelta(days=i % 20)], hour=9 + i // 20
        )
        AuthorizationFactory(course=course, valid_from=TODAY - timedelta(days=170), valid_to=TODAY + timedelta(days=10))
    # 1 the token with its user and roles, 2 count, 3 page of authorisations with course, patient and protocol,
    # 4 the patients' treatments, 5 audit rows
    with django_assert_num_queries(5):
        assert front_desk_client.get(f"{API}/authorizations/", {"page_size": 50}).json()["count"] == n
    # The renewal queue: 1 the token with its user and roles, 2 approvals still valid with course, patient and protocol,
    # 3 the patients' treatments, 4 audit rows
    with django_assert_num_queries(4):
        assert front_desk_client.get(f"{API}/authorizations/", {"expiring_within_days": 30}).json()["count"] == n


@pytest.mark.parametrize("n", [3, 30])
def test_the_due_list_shows_authorisations_in_the_same_queries_for_3_and_30(
    place, us_payer, front_desk_client, n, django_assert_num_queries
):
    location, (lee, _) = place
    for i in range(n):
        course = treated_course(
            location=location, clinician=lee, treated_on=[LAST + timedelta(days=i % 10)], hour=9 + i // 10
        )
        Course.objects.filter(pk=course.pk).update(protocol=us_payer)
        if i % 2:
            AuthorizationFactory(course=course)
    # 1 the token with its user and roles, 2 protocols, 3 location zones, 4 count, 5 page of courses with patients,
    # 6 their authorisations, 7 the patients' treatments, 8 audit rows
    with django_assert_num_queries(8):
        rows = front_desk_client.get(f"{API}/due/", {"within_days": 30, "page_size": 50}).json()["results"]
    assert len(rows) == n
    assert sorted(r["authorization"]["status"] for r in rows) == ["missing"] * (n - n // 2) + ["ok"] * (n // 2)


# --- pure rules -----------------------------------------------------------------------------------------


def _facts(*authorizations, treatments=()):
    return rules.TreatmentFacts(
        interval_days=84,
        min_interval_days=84,
        window_days=14,
        treatments=tuple(treatments),
        first_of_course=False,
        course_id="c",
        requires_authorization=True,
        authorizations=authorizations,
    )


def _known(day: date, session="s", course="c"):
    return rules.KnownTreatment(day, at(day, 9), session, course, True)


def _proposal(day: date, session=None):
    return rules.ProposedTreatment(start=at(day, 9), treated_on=day, session_id=session)


APPROVED = rules.AuthorizationFacts("a", "approved", date(2027, 1, 1), date(2027, 6, 30), 2)


@pytest.mark.parametrize(
    ("day", "refused"),
    [(date(2026, 12, 31), True), (date(2027, 1, 1), False), (date(2027, 6, 30), False), (date(2027, 7, 1), True)],
)
def test_both_ends_of_an_approval_are_inside_it(day, refused):
    assert (rules.authorization_rule(_facts(APPROVED), _proposal(day)) is not None) is refused


def test_treatments_of_another_course_or_outside_the_dates_do_not_use_an_approval():
    treatments = [
        _known(date(2027, 2, 1), "x", course="other"),
        _known(date(2026, 12, 1), "y"),
        _known(date(2027, 2, 1), "z"),
    ]
    facts = _facts(APPROVED, treatments=treatments)
    assert rules.treatments_used(APPROVED, treatments, course_id="c") == 1
    assert rules.authorization_rule(facts, _proposal(date(2027, 5, 1))) is None
    full = _facts(APPROVED, treatments=[*treatments, _known(date(2027, 4, 26), "w")])
    assert rules.authorization_rule(full, _proposal(date(2027, 6, 1))).code == "authorization_required"
    # Moving one of those two is judged without itself.
    assert rules.authorization_rule(full, _proposal(date(2027, 6, 1), session="w")) is None


def test_a_profile_without_authorisation_never_asks():
    facts = rules.TreatmentFacts(84, 84, 14, (), False)
    assert rules.authorization_rule(facts, _proposal(date(2030, 1, 1))) is None
    assert rules.authorization_open(facts, date(2030, 1, 1), date(2030, 1, 2)) is True
    state = rules.authorization_state(
        required=False, authorizations=(), treatments=(), course_id="c", today=date(2027, 1, 1)
    )
    assert state.status == "not_required"


def test_authorization_open_sees_an_approval_overlapping_any_day_of_the_window():
    facts = _facts(APPROVED)
    assert rules.authorization_open(facts, date(2026, 12, 20), date(2027, 1, 1)) is True
    assert rules.authorization_open(facts, date(2026, 12, 1), date(2026, 12, 31)) is False
    used_up = _facts(APPROVED, treatments=[_known(date(2027, 1, 2), "p"), _known(date(2027, 3, 30), "q")])
    assert rules.authorization_open(used_up, date(2027, 4, 1), date(2027, 4, 14)) is False


def test_expiring_is_thirty_days_or_one_left_and_never_once_ended():
    def expiring(valid_to, left, today=date(2027, 1, 1)):
        return rules.is_expiring(valid_to=valid_to, treatments_left=left, today=today, within_days=30)

    assert expiring(date(2027, 1, 31), 5) is True
    assert expiring(date(2027, 2, 1), 5) is False
    assert expiring(date(2027, 12, 1), 1) is True
    assert expiring(date(2027, 12, 1), 0) is True  # used up: renew no less
    assert expiring(date(2026, 12, 31), 1) is False  # ended: missing, not expiring

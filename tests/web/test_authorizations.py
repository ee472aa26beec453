"""The prior-authorisation pages: a course's approvals (add, edit, status), the front desk's renewal queue,
the packet and the letter for clinicians, the patient-page block, and the booking page inside an approval.

Time is pinned to Tuesday 2027-01-05 15:00 in New York; the course was last treated on Sat 17 Oct 2026.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import RequestFactory

from clinic.models import AuditLog
from clinic.web.authorizations import panel_for
from cycles.models import Authorization, Course, Protocol
from scheduling.models import Session
from tests.cycle import at, treated_course
from tests.factories import AuthorizationFactory, PatientFactory

NOW = datetime(2027, 1, 5, 20, 0, tzinfo=UTC)
TODAY = date(2027, 1, 5)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def us_payer(db):
    return Protocol.objects.create(name="US payer", requires_authorization=True)


@pytest.fixture
def course(location, clinician, us_payer):
    patient = PatientFactory(given_name="Rosa", family_name="Delgado", mrn="MRN-5501")
    course = treated_course(location=location, clinician=clinician, treated_on=[date(2026, 10, 17)], patient=patient)
    Course.objects.filter(pk=course.pk).update(protocol=us_payer)
    course.refresh_from_db()
    return course


FORM = {
    "payer": "Cigna",
    "reference": "PA-90210",
    "status": "approved",
    "treatments_approved": "2",
    "units_approved": "",
    "valid_from": "2027-01-05",
    "valid_to": "2027-07-04",
    "notes": "",
}


def test_front_desk_records_an_approval_and_sees_it_counted(desk, course):
    url = f"/courses/{course.pk}/authorizations/"
    page = desk.get(url).content.decode()
    assert "No approval" in page and "Rosa Delgado" in page
    response = desk.post(url, FORM)
    assert response.status_code == 302
    page = desk.get(url).content.decode()
    assert "Cigna" in page and "PA-90210" in page
    assert "Tue 5 Jan 2027 to Sun 4 Jul 2027" in page
    assert "0 of 2 used · 2 left" in page
    assert "Approved" in page
    actions = AuditLog.objects.filter(resource="authorization", patient_id=course.patient_id)
    assert set(actions.values_list("action", flat=True)) == {"read", "create"}


def test_an_approval_ending_before_it_starts_is_a_form_error_and_nothing_is_saved(desk, course):
    response = desk.post(f"/courses/{course.pk}/authorizations/", {**FORM, "valid_to": "2027-01-01"})
    assert response.status_code == 200
    assert "The approval cannot end before it starts." in response.content.decode()
    assert not Authorization.objects.exists()


def test_approving_nothing_is_refused_with_the_services_message(desk, course):
    response = desk.post(f"/courses/{course.pk}/authorizations/", {**FORM, "treatments_approved": "0"})
    assert "An approval covers at least one treatment." in response.content.decode()
    assert not Authorization.objects.exists()


def test_editing_and_marking_the_payers_answer(desk, course):
    approval = AuthorizationFactory(course=course, status="pending", treatments_approved=2, payer="Cigna")
    page = desk.get(f"/authorizations/{approval.pk}/edit/").content.decode()
    assert 'value="Cigna"' in page
    response = desk.post(f"/authorizations/{approval.pk}/edit/", {**FORM, "status": "pending", "reference": "PA-2"})
    assert response.status_code == 302
    assert Authorization.objects.get().reference == "PA-2"
    desk.post(f"/authorizations/{approval.pk}/status/", {"status": "approved"})
    assert Authorization.objects.get().status == "approved"
    desk.post(f"/authorizations/{approval.pk}/status/", {"status": "granted"})
    assert Authorization.objects.get().status == "approved"


def test_the_renewal_queue_shows_renew_by_payer_reference_and_treatments_left(desk, course, location, clinician):
    AuthorizationFactory(
        course=course, payer="Cigna", reference="PA-77", valid_from=date(2026, 8, 1), valid_to=date(2027, 1, 30)
    )
    # A course on the payer's profile with nothing approved or asked for.
    bare = treated_course(
        location=location,
        clinician=clinician,
        treated_on=[date(2026, 11, 2)],
        patient=PatientFactory(given_name="Omar", family_name="Haddad"),
    )
    Course.objects.filter(pk=bare.pk).update(protocol=course.protocol)
    # One renewed already (an approved later authorisation): off the queue.
    renewed = treated_course(
        location=location,
        clinician=clinician,
        treated_on=[date(2026, 11, 3)],
        patient=PatientFactory(given_name="Lena", family_name="Fischer"),
    )
    Course.objects.filter(pk=renewed.pk).update(protocol=course.protocol)
    AuthorizationFactory(course=renewed, valid_from=date(2026, 8, 1), valid_to=date(2027, 1, 20))
    AuthorizationFactory(course=renewed, valid_from=date(2027, 1, 21), valid_to=date(2027, 7, 20))

    page = desk.get("/authorizations/renewals/").content.decode()
    renew, missing = page.split('id="missing"')
    assert "Rosa Delgado" in renew and "Cigna" in renew and "PA-77" in renew
    assert "Sat 30 Jan 2027" in renew  # renew by = valid to
    assert "1 of 2" in renew  # treatments left: the October treatment used one
    assert "not requested" in renew
    assert "Lena Fischer" not in page
    assert "Omar Haddad" in missing
    read = AuditLog.objects.filter(resource="authorization", action="read")
    assert set(read.values_list("patient_id", flat=True)) == {course.patient_id, bare.patient_id}


def test_a_clinician_downloads_the_packet_and_the_letter_and_front_desk_cannot(doctor, desk, course):
    for path in (f"/courses/{course.pk}/reauthorization.pdf", f"/courses/{course.pk}/letter.pdf"):
        response = doctor.get(path)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert desk.get(path).status_code == 403
    exports = AuditLog.objects.filter(action="export", patient_id=course.patient_id)
    assert set(exports.values_list("resource", flat=True)) == {"reauthorization", "letter"}


def test_the_patient_page_block_links_the_packet_for_clinicians_only(desk, doctor, course):
    AuthorizationFactory(course=course, payer="Cigna", reference="PA-5", valid_from=TODAY, valid_to=date(2027, 6, 1))
    request = RequestFactory().get("/")
    for client, links in ((doctor, True), (desk, False)):
        request.user = client.user
        html = render_to_string(
            "web/_authorizations.html", {"panel": panel_for(course.patient, client.user)}, request=request
        )
        assert "Cigna PA-5" in html and "Approved" in html and "valid to Tue 1 Jun 2027" in html
        assert (f"/courses/{course.pk}/reauthorization.pdf" in html) is links
        assert (f"/courses/{course.pk}/letter.pdf" in html) is links


def test_the_booking_page_proposes_only_times_inside_the_approval(desk, course):
    # Due from Sat 9 Jan 2027; the approval starts on Wed 13 Jan.
    AuthorizationFactory(course=course, valid_from=date(2027, 1, 13), valid_to=date(2027, 7, 1))
    page = desk.get(f"/patients/{course.patient_id}/book/", {"from": "2027-01-09"}).content.decode()
    for day in ("2027-01-09", "2027-01-11", "2027-01-12"):
        assert f"|{day}T" not in page, day
    assert "|2027-01-13T" in page


def test_without_any_approval_the_booking_page_still_lists_times_and_the_booking_says_why(desk, course, clinician):
    page = desk.get(f"/patients/{course.patient_id}/book/", {"from": "2027-01-09"}).content.decode()
    assert "|2027-01-11T" in page
    start = at(date(2027, 1, 11), 10)
    response = desk.post(
        f"/patients/{course.patient_id}/book/",
        {"kind": "treatment", "slot": f"{clinician.pk}|{start.astimezone(UTC).isoformat()}", "from": "2027-01-09"},
    )
    assert response.status_code == 200
    assert "No approved prior authorisation covers Mon 11 Jan 2027" in response.content.decode()
    assert not course.sessions.filter(status="booked").exists()


def test_the_demo_clinic_has_approvals_in_force_one_expiring_and_one_missing(desk, front_desk_client):
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    states = [
        row["authorization"]["status"]
        for row in front_desk_client.get("/api/v1/due/", {"within_days": 366, "page_size": 200}).json()["results"]
    ]
    assert "not_required" in states
    us = Course.objects.filter(protocol__requires_authorization=True, status="active")
    assert us.count() >= 4
    expiring = front_desk_client.get("/api/v1/authorizations/", {"expiring_within_days": 30}).json()["results"]
    assert len(expiring) == 1 and expiring[0]["valid_to"] == "2027-01-23"
    page = desk.get("/authorizations/renewals/").content.decode()
    renew, missing = page.split('id="missing"')
    assert renew.count("<tr data-authorization=") == 1
    assert missing.count("<tr data-course=") == 1
    # Every booked treatment of those courses lies inside an approval with room.
    for booked in Session.objects.filter(course__in=us, status__in=("booked", "confirmed")):
        local = booked.start.astimezone(booked.location.zone).date()
        assert Authorization.objects.filter(
            course=booked.course_id, status="approved", valid_from__lte=local, valid_to__gte=local
        ).exists()
    call_command("seed_demo", stdout=StringIO())
    assert Authorization.objects.count() == us.count()

"""The reauthorisation packet (JSON and PDF) and the letter to the referring clinician (PDF): the course's
numbers as a payer and a referrer read them; front desk reads neither.

The PDFs are read back with pypdf, as a payer's system would extract them.

Time is pinned to Tuesday 2027-01-05 in New York. The course: treatments on Mon 20 Apr, Mon 13 Jul and
Mon 5 Oct 2026 (84 days apart), a baseline of 20 headache days per 28 over the 84 days before the first,
then 16, 12 and 9 per 28 in the three cycles. The next is due from Mon 28 Dec 2026 to Mon 11 Jan 2027.
"""

from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import pytest
import time_machine
from pypdf import PdfReader

from clinic.models import AuditLog
from cycles.models import Course, Protocol, TreatmentRecord
from scheduling.models import Session
from tests.cycle import at, clinic
from tests.factories import (
    AuthorizationFactory,
    CourseFactory,
    DiaryEntryFactory,
    PatientFactory,
    SessionFactory,
    TreatmentRecordFactory,
)

NOW = datetime(2027, 1, 5, 20, 0, tzinfo=UTC)
API = "/api/v1"
T1 = date(2026, 4, 20)
TREATED = [T1, T1 + timedelta(days=84), T1 + timedelta(days=168)]
CYCLE_RATES = [16, 12, 9]


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def course(db, settings):
    settings.CLINIC_NAME = "Riverside Headache Centre"
    settings.CLINIC_ADDRESS = "12 Hudson Street, New York, NY 10013"
    location, (lee, _) = clinic()
    us = Protocol.objects.create(name="Acme Health PA policy", requires_authorization=True, response_threshold_pct=50)
    patient = PatientFactory(
        given_name="Imogen", family_name="Okonkwo-Hart", mrn="MRN-448812", date_of_birth=date(1979, 3, 14)
    )
    course = CourseFactory(patient=patient, protocol=us, referring_clinician="Dr Sarah Feld")
    for number, day in enumerate(TREATED, start=1):
        TreatmentRecordFactory(
            session__patient=patient,
            session__course=course,
            session__clinician=lee,
            session__location=location,
            session__start=at(day, 10),
            session__cycle_number=number,
            units_wasted=45 if number == 2 else 0,
            lot_number=f"C{number}77A",
        )
    # Baseline: three 28-day periods before the first treatment, 20 headache and 12 migraine days each.
    for k in range(3):
        start = T1 - timedelta(days=84 - 28 * k)
        DiaryEntryFactory(
            patient=patient,
            period_start=start,
            period_end=start + timedelta(days=27),
            headache_days=20,
            migraine_days=12,
            hit6=66 if k == 2 else None,
            midas=41 if k == 2 else None,
        )
    # Each cycle: three 28-day periods from its treatment.
    for day, rate in zip(TREATED, CYCLE_RATES, strict=True):
        for k in range(3):
            start = day + timedelta(days=28 * k)
            DiaryEntryFactory(
                patient=patient,
                period_start=start,
                period_end=start + timedelta(days=27),
                headache_days=rate,
                migraine_days=rate // 2,
                hit6=58 if (day, k) == (TREATED[2], 2) else None,
                midas=17 if (day, k) == (TREATED[2], 2) else None,
            )
    AuthorizationFactory(
        course=course,
        payer="Acme Health",
        reference="PA-2026-0419",
        treatments_approved=4,
        valid_from=T1,
        valid_to=date(2027, 1, 31),
    )
    return course


def pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    return " ".join(text.split())


def test_the_packet_has_the_contract_keys_and_the_courses_numbers(course, clinician_client):
    body = clinician_client.get(f"{API}/courses/{course.pk}/reauthorization/").json()
    assert set(body) >= {
        "patient",
        "course",
        "protocol",
        "diagnosis_code",
        "baseline",
        "cycles",
        "treatments",
        "outcome",
        "hit6",
        "midas",
    }
    assert (body["patient"]["mrn"], body["patient"]["date_of_birth"]) == ("MRN-448812", "1979-03-14")
    assert body["diagnosis_code"] == "G43.709"
    assert body["clinic"] == {"name": "Riverside Headache Centre", "address": "12 Hudson Street, New York, NY 10013"}
    assert body["baseline"]["headache_days_per_28"] == 20.0 and body["baseline"]["diary_days"] == 84
    assert [(c["cycle"], c["headache_days_per_28"], c["reduction_pct"], c["final"]) for c in body["cycles"]] == [
        (1, 16.0, 20.0, True),
        (2, 12.0, 40.0, True),
        (3, 9.0, 55.0, True),  # 92 days since the third: past its 56 days of assessment
    ]
    assert [c["total_units"] for c in body["cycles"]] == [155, 155, 155]
    [_, second, _] = body["treatments"]
    assert (second["treated_on"], second["total_units"], second["units_wasted"], second["lot_number"]) == (
        "2026-07-13",
        155,
        45,
        "C277A",
    )
    assert second["billing"] == [
        {"code": "64615"},
        {"code": "J0585", "units": 155},
        {"code": "J0585", "modifier": "JW", "units": 45},
    ]
    assert body["outcome"] == {
        "metric": "headache_days",
        "baseline_per_28": 20.0,
        "latest_per_28": 9.0,
        "reduction_pct": 55.0,
        "threshold_pct": 50.0,
        "meets_threshold": True,
        "cycle": 3,
        "final": True,
    }
    assert (body["hit6"]["baseline"], body["hit6"]["latest"]) == (66, 58)
    assert (body["midas"]["baseline"], body["midas"]["latest"]) == (41, 17)
    assert body["next_due"] == {"due_from": "2026-12-28", "due_by": "2027-01-11", "booked_on": None}
    [approval] = body["authorizations"]
    assert (approval["reference"], approval["treatments_used"], approval["treatments_left"]) == ("PA-2026-0419", 3, 1)


def test_a_reduction_under_the_threshold_is_not_met(course, clinician_client, clinic_admin_client):
    Protocol.objects.filter(pk=course.protocol_id).update(response_threshold_pct=60)
    outcome = clinician_client.get(f"{API}/courses/{course.pk}/reauthorization/").json()["outcome"]
    assert (outcome["reduction_pct"], outcome["threshold_pct"], outcome["meets_threshold"]) == (55.0, 60.0, False)


@pytest.mark.parametrize("how", ["format", "accept"])
def test_the_packet_pdf_names_the_patient_mrn_baseline_and_each_cycles_figures(course, clinician_client, how):
    url = f"{API}/courses/{course.pk}/reauthorization/"
    if how == "format":
        response = clinician_client.get(url, {"format": "pdf"})
    else:
        response = clinician_client.get(url, HTTP_ACCEPT="application/pdf")
    text = pdf_text(response)
    cycles = clinician_client.get(url).json()["cycles"]
    for expected in (
        "Imogen Okonkwo-Hart",
        "MRN-448812",
        "Wed 14 Mar 1979",  # date of birth
        "G43.709",
        "Riverside Headache Centre",
        "12 Hudson Street, New York, NY 10013",
        "Acme Health PA-2026-0419",
        "20.0",  # the baseline, headache days per 28
        "HIT-6",
        "MIDAS",
        "66",
        "58",
        "J0585-JW × 45",
        "Mon 28 Dec 2026",
    ):
        assert expected in text, expected
    for cycle in cycles:
        row = f"Cycle {cycle['cycle']} {'Mon' if True else ''}"
        assert row in text, row
        assert f"{cycle['headache_days_per_28']:.1f}" in text
        assert f"{cycle['reduction_pct']:.1f}%" in text
    assert "reduction of at least 50%: met" in text
    assert AuditLog.objects.filter(action="export", resource="reauthorization", patient_id=course.patient_id).exists()


def test_the_letter_names_the_referrer_the_figures_and_the_next_due_window(course, clinician_client, clinician_user):
    clinician_user.first_name, clinician_user.last_name = "Amy", "Lee"
    clinician_user.save()
    text = pdf_text(clinician_client.get(f"{API}/courses/{course.pk}/letter/", {"format": "pdf"}))
    for expected in (
        "Dear Dr Sarah Feld",
        "Re: Imogen Okonkwo-Hart, date of birth Wed 14 Mar 1979, MRN MRN-448812",
        "The next treatment is due between Mon 28 Dec 2026 and Mon 11 Jan 2027",
        "20.0",
        "16.0",
        "55.0%",
        "Amy Lee",
        "Riverside Headache Centre",
    ):
        assert expected in text, expected


def test_the_letter_says_when_the_next_treatment_is_booked(course, clinician_client):
    last = Session.objects.filter(course=course).order_by("start").last()
    SessionFactory(
        patient=course.patient,
        course=course,
        clinician=last.clinician,
        location=last.location,
        start=at(date(2027, 1, 8), 11),
    )
    text = pdf_text(clinician_client.get(f"{API}/courses/{course.pk}/letter/", {"format": "pdf"}))
    assert "it is booked for Fri 8 Jan 2027" in text
    letter = clinician_client.get(f"{API}/courses/{course.pk}/letter/").json()
    assert letter["next_due"]["booked_on"] == "2027-01-08"


def test_an_untreated_course_has_a_packet_with_nothing_to_judge(clinician_client, db):
    patient = PatientFactory(given_name="Tom", family_name="O'Brien & Sons")
    course = CourseFactory(patient=patient)
    body = clinician_client.get(f"{API}/courses/{course.pk}/reauthorization/").json()
    assert body["cycles"] == [] and body["outcome"]["meets_threshold"] is None
    assert body["next_due"] == {"due_from": None, "due_by": None, "booked_on": None}
    text = pdf_text(clinician_client.get(f"{API}/courses/{course.pk}/letter/", {"format": "pdf"}))
    assert "Tom O'Brien & Sons" in text and "no treatment has been given yet" in text


@pytest.mark.parametrize("path", ["reauthorization", "letter"])
@pytest.mark.parametrize("ask", [{}, {"format": "pdf"}, {"HTTP_ACCEPT": "application/pdf"}])
def test_front_desk_gets_403_in_the_json_error_shape(course, front_desk_client, path, ask):
    query = {"format": ask["format"]} if "format" in ask else {}
    headers = {k: v for k, v in ask.items() if k.startswith("HTTP_")}
    response = front_desk_client.get(f"{API}/courses/{course.pk}/{path}/", query, **headers)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "permission_denied"
    assert not AuditLog.objects.filter(resource=path).exists()


def test_an_unknown_course_is_404_even_for_a_pdf(clinician_client, db):
    response = clinician_client.get(f"{API}/courses/7d1b6f1c-8d4a-4a8e-9b7e-0c6f7d1f2a3b/letter/", {"format": "pdf"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_clinician_sets_the_diagnosis_code_and_the_referrer_on_the_course(
    course, clinician_client, front_desk_client
):
    url = f"{API}/courses/{course.pk}/"
    assert clinician_client.get(url).json()["diagnosis_code"] == "G43.709"
    patched = clinician_client.patch(url, {"diagnosis_code": "g43.719", "referring_clinician": "Dr Ana Ruiz"})
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["diagnosis_code"], patched.json()["referring_clinician"]) == ("G43.719", "Dr Ana Ruiz")
    bad = clinician_client.patch(url, {"diagnosis_code": "migraine"})
    assert bad.status_code == 400 and "diagnosis_code" in bad.json()["fields"]
    assert front_desk_client.patch(url, {"diagnosis_code": "G43.709"}).status_code == 403
    assert Course.objects.get(pk=course.pk).diagnosis_code == "G43.719"


def test_the_packet_takes_the_same_queries_for_one_and_three_cycles(
    course, clinician_client, django_assert_num_queries
):
    # 1 the token with its user and roles, 2 course with patient and protocol, 3 diary, 4 the course's treatments,
    # 5 their records, 6 the diary's scores, 7 the treatment booked next, 8 authorisations, 9 their
    # treatments, 10 audit row
    with django_assert_num_queries(10):
        clinician_client.get(f"{API}/courses/{course.pk}/reauthorization/")
    TreatmentRecord.objects.filter(session__start__gte=at(TREATED[1], 0)).delete()
    Session.objects.filter(course=course, start__gte=at(TREATED[1], 0)).delete()
    with django_assert_num_queries(10):
        assert len(clinician_client.get(f"{API}/courses/{course.pk}/reauthorization/").json()["cycles"]) == 1

"""Diary, response and eligibility over the API: clinician only (API.md, Response history)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from clinic.models import AuditLog
from cycles.models import Protocol
from patients.models import DiaryEntry
from scheduling.models import Session
from tests.factories import (
    CourseFactory,
    DiaryEntryFactory,
    LocationFactory,
    PatientFactory,
    PriorPreventiveFactory,
    ProtocolFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
ENTRY = {
    "period_start": "2026-05-01",
    "period_end": "2026-05-28",
    "headache_days": 16,
    "migraine_days": 9,
    "acute_medication_days": 6,
    "hit6": 64,
    "midas": 30,
}
CLINICAL = ["diary/", "response/", "eligibility/", "preventives/"]


@pytest.fixture
def patient():
    return PatientFactory()


def url(patient, suffix):
    return f"/api/v1/patients/{patient.id}/{suffix}"


@pytest.mark.parametrize("suffix", CLINICAL)
def test_front_desk_gets_403_permission_denied_on_clinical_data(front_desk_client, patient, suffix):
    response = front_desk_client.get(url(patient, suffix))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert set(response.json()) == {"code", "detail"}


def test_front_desk_cannot_write_a_diary_entry(front_desk_client, patient):
    response = front_desk_client.post(url(patient, "diary/"), ENTRY)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not DiaryEntry.objects.exists()


@pytest.mark.parametrize("suffix", CLINICAL)
def test_no_token_gets_401_not_authenticated_on_clinical_data(anon_client, patient, suffix):
    response = anon_client.get(url(patient, suffix))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("suffix", CLINICAL)
def test_a_clinic_admin_without_the_clinician_role_gets_403(clinic_admin_client, patient, suffix):
    assert clinic_admin_client.get(url(patient, suffix)).status_code == 403


def test_a_clinician_records_and_lists_a_diary_entry(clinician_client, clinician_user, patient):
    response = clinician_client.post(url(patient, "diary/"), ENTRY)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ENTRY} == ENTRY
    assert body["source"] == "clinician"
    entry = DiaryEntry.objects.get(pk=body["id"])
    assert entry.recorded_by == clinician_user
    listed = clinician_client.get(url(patient, "diary/")).json()
    assert listed["count"] == 1
    assert listed["results"][0]["id"] == body["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period_end": "2026-06-01"}, "period_end"),  # 32 days
        ({"period_end": "2026-04-30"}, "period_end"),  # ends before it starts
        ({"period_end": "2026-05-10", "headache_days": 11, "migraine_days": 2}, "headache_days"),  # 11 days in 10
        ({"period_end": "2026-05-10", "headache_days": 5, "migraine_days": 2, "acute_medication_days": 11}, None),
        ({"migraine_days": 17}, "migraine_days"),
        ({"hit6": 35}, "hit6"),
        ({"hit6": 79}, "hit6"),
        ({"midas": 271}, "midas"),
        ({"headache_days": -1}, "headache_days"),
        ({"period_start": "1 May"}, "period_start"),
    ],
)
def test_an_invalid_diary_entry_is_400_with_the_field_named(clinician_client, patient, change, field):
    response = clinician_client.post(url(patient, "diary/"), {**ENTRY, **change})
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"]
    if field:
        assert field in body["fields"]
    else:
        assert "acute_medication_days" in body["fields"]
    assert not DiaryEntry.objects.exists()


def test_a_31_day_period_is_accepted(clinician_client, patient):
    response = clinician_client.post(url(patient, "diary/"), {**ENTRY, "period_end": "2026-05-31"})
    assert response.status_code == 201


def test_hit6_and_midas_are_optional(clinician_client, patient):
    entry = {k: v for k, v in ENTRY.items() if k not in ("hit6", "midas")}
    response = clinician_client.post(url(patient, "diary/"), entry)
    assert response.status_code == 201
    assert response.json()["hit6"] is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-05-28", "2026-06-10"),
        ("2026-04-20", "2026-05-01"),
        ("2026-05-10", "2026-05-12"),
        ("2026-04-30", "2026-05-29"),
    ],
)
def test_an_overlapping_diary_period_is_400(clinician_client, patient, start, end):
    DiaryEntryFactory(patient=patient, period_start=date(2026, 5, 1), period_end=date(2026, 5, 28))
    response = clinician_client.post(
        url(patient, "diary/"),
        {
            **ENTRY,
            "period_start": start,
            "period_end": end,
            "headache_days": 1,
            "migraine_days": 0,
            "acute_medication_days": 0,
        },
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "period_start" in response.json()["fields"]
    assert DiaryEntry.objects.count() == 1


def test_adjacent_periods_and_other_patients_periods_do_not_overlap(clinician_client, patient):
    DiaryEntryFactory(patient=patient, period_start=date(2026, 4, 3), period_end=date(2026, 4, 30))
    DiaryEntryFactory(period_start=date(2026, 5, 1), period_end=date(2026, 5, 28))
    response = clinician_client.post(url(patient, "diary/"), ENTRY)
    assert response.status_code == 201


@pytest.mark.postgres
def test_the_database_refuses_overlapping_periods_on_postgres(patient):
    from django.db import IntegrityError, transaction

    DiaryEntryFactory(patient=patient, period_start=date(2026, 5, 1), period_end=date(2026, 5, 28))
    with pytest.raises(IntegrityError), transaction.atomic():
        DiaryEntryFactory(patient=patient, period_start=date(2026, 5, 28), period_end=date(2026, 6, 3))


@pytest.mark.parametrize("rows", [3, 30])
def test_the_diary_list_uses_a_constant_number_of_queries(clinician_client, patient, django_assert_num_queries, rows):
    for index in range(rows):
        start = date(2024, 1, 1) + timedelta(days=28 * index)
        DiaryEntryFactory(patient=patient, period_start=start, period_end=start + timedelta(days=27))
    # 1 the token with its user and roles, 2 the patient, 3 count, 4 the page of entries,
    # 5 the audit row
    with django_assert_num_queries(5):
        response = clinician_client.get(url(patient, "diary/"))
    assert len(response.json()["results"]) == rows


def test_the_diary_list_is_in_period_order(clinician_client, patient):
    for start in (date(2026, 3, 1), date(2026, 1, 1), date(2026, 2, 1)):
        DiaryEntryFactory(patient=patient, period_start=start, period_end=start + timedelta(days=20))
    starts = [e["period_start"] for e in clinician_client.get(url(patient, "diary/")).json()["results"]]
    assert starts == ["2026-01-01", "2026-02-01", "2026-03-01"]


def _course(patient):
    return patient.courses.first() or CourseFactory(patient=patient)


def _treated(patient, day: date, location):
    return SessionFactory(
        patient=patient,
        course=_course(patient),
        location=location,
        start=datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC),
        status=Session.Status.COMPLETED,
    )


@time_machine.travel(NOW, tick=False)
def test_the_response_of_an_untreated_patient_is_not_started(clinician_client, patient):
    DiaryEntryFactory(patient=patient, period_start=date(2026, 5, 1))
    body = clinician_client.get(url(patient, "response/")).json()
    assert body["status"] == "not_started"
    assert body["cycles"] == []
    assert body["threshold_pct"] == 30


@time_machine.travel(NOW, tick=False)
def test_the_response_follows_api_md(clinician_client, patient):
    location = LocationFactory(time_zone="America/New_York")
    first = _treated(patient, date(2026, 2, 2), location)
    second = _treated(patient, date(2026, 4, 27), location)
    DiaryEntryFactory(patient=patient, period_start=date(2026, 1, 5), headache_days=20)  # baseline
    DiaryEntryFactory(patient=patient, period_start=date(2026, 2, 2), headache_days=14)  # cycle 1: 30 %
    DiaryEntryFactory(patient=patient, period_start=date(2026, 4, 27), headache_days=15)  # cycle 2: 25 %
    body = clinician_client.get(url(patient, "response/")).json()
    assert body["status"] == "non_responder"
    assert body["baseline"]["headache_days_per_28"] == 20.0
    assert body["baseline"]["diary_days"] == 28
    assert body["threshold_pct"] == 30
    assert isinstance(body["threshold_pct"], int)  # API.md: "threshold_pct": 30
    assert [
        (c["cycle"], c["session"], c["treated_on"], c["headache_days_per_28"], c["reduction_pct"], c["assessment"])
        for c in body["cycles"]
    ] == [
        (1, str(first.id), "2026-02-02", 14.0, 30.0, "benefit"),
        (2, str(second.id), "2026-04-27", 15.0, 25.0, "no_benefit"),
    ]


@time_machine.travel(NOW, tick=False)
def test_the_threshold_comes_from_the_active_protocol(clinician_client, patient):
    ProtocolFactory(response_threshold_pct=50)
    _treated(patient, date(2026, 2, 2), LocationFactory())
    DiaryEntryFactory(patient=patient, period_start=date(2026, 1, 5), headache_days=20)
    DiaryEntryFactory(patient=patient, period_start=date(2026, 2, 2), headache_days=14)
    body = clinician_client.get(url(patient, "response/")).json()
    assert body["threshold_pct"] == 50
    assert body["cycles"][0]["assessment"] == "no_benefit"


@time_machine.travel(NOW, tick=False)
def test_the_treatment_date_is_the_local_date_at_the_location(clinician_client, patient):
    # 02:30 UTC on 3 Feb is still 2 Feb in New York.
    location = LocationFactory(time_zone="America/New_York")
    SessionFactory(
        patient=patient,
        location=location,
        start=datetime(2026, 2, 3, 2, 30, tzinfo=UTC),
        status=Session.Status.COMPLETED,
    )
    body = clinician_client.get(url(patient, "response/")).json()
    assert body["cycles"][0]["treated_on"] == "2026-02-02"
    assert body["status"] == "insufficient_data"


@time_machine.travel(NOW, tick=False)
def test_booked_and_cancelled_sessions_are_not_treatments(clinician_client, patient):
    location = LocationFactory()
    course = _course(patient)
    SessionFactory(patient=patient, course=course, location=location, status=Session.Status.CANCELLED)
    SessionFactory(patient=patient, course=course, location=location, status=Session.Status.BOOKED)
    assert clinician_client.get(url(patient, "response/")).json()["status"] == "not_started"


@time_machine.travel(NOW, tick=False)
def test_eligibility_reports_the_baseline_and_failed_preventives(clinician_client, patient):
    DiaryEntryFactory(patient=patient, period_start=date(2026, 5, 1), headache_days=18, migraine_days=10)
    PriorPreventiveFactory(patient=patient, outcome="failed")
    PriorPreventiveFactory(patient=patient, outcome="not_tolerated", drug="propranolol")
    PriorPreventiveFactory(patient=patient, outcome="ongoing", drug="amitriptyline")
    body = clinician_client.get(url(patient, "eligibility/")).json()
    assert body["chronic_migraine"] is True
    assert body["failed_preventives"] == 2
    assert body["meets_protocol"] is True
    assert body["reasons"] == []
    assert body["baseline"]["headache_days_per_28"] == 18.0


@time_machine.travel(NOW, tick=False)
def test_eligibility_gives_reasons_when_the_protocol_is_not_met(clinician_client, patient):
    Protocol.default()
    body = clinician_client.get(url(patient, "eligibility/")).json()
    assert body["chronic_migraine"] is False
    assert body["meets_protocol"] is False
    assert body["failed_preventives"] == 0
    assert len(body["reasons"]) == 2


def test_a_clinician_records_a_prior_preventive(clinician_client, patient):
    response = clinician_client.post(
        url(patient, "preventives/"), {"drug": "topiramate", "started_on": "2025-01-01", "outcome": "failed"}
    )
    assert response.status_code == 201, response.json()
    bad = clinician_client.post(url(patient, "preventives/"), {"drug": "x", "outcome": "worked_wonders"})
    assert bad.status_code == 400
    assert "outcome" in bad.json()["fields"]
    backwards = clinician_client.post(
        url(patient, "preventives/"),
        {"drug": "x", "started_on": "2025-02-01", "stopped_on": "2025-01-01", "outcome": "failed"},
    )
    assert backwards.status_code == 400
    assert "stopped_on" in backwards.json()["fields"]
    assert clinician_client.get(url(patient, "preventives/")).json()["count"] == 1


@pytest.mark.parametrize("suffix", ["diary/", "response/", "eligibility/", "preventives/"])
def test_every_clinical_read_leaves_an_audit_row(clinician_client, clinician_user, patient, suffix):
    clinician_client.get(url(patient, suffix), REMOTE_ADDR="192.0.2.7")
    row = AuditLog.objects.get()
    assert (row.user_id, row.action, row.patient_id, row.client_ip) == (
        clinician_user.id,
        "read",
        patient.id,
        "192.0.2.7",
    )


def test_a_refused_read_leaves_no_audit_row(front_desk_client, patient):
    front_desk_client.get(url(patient, "diary/"))
    assert not AuditLog.objects.exists()


def test_a_diary_write_is_audited_with_the_entry_id(clinician_client, patient):
    entry_id = clinician_client.post(url(patient, "diary/"), ENTRY).json()["id"]
    row = AuditLog.objects.get()
    assert (row.action, row.resource, row.object_id, row.patient_id) == ("create", "diary", entry_id, patient.id)

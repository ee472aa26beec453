"""API.md, Response history: diary, response, eligibility."""

from datetime import UTC, date, datetime

import pytest

from tests.contract.common import (
    API,
    assert_error,
    assert_page,
    treated,
)
from tests.factories import DiaryEntryFactory, PatientFactory

pytestmark = pytest.mark.django_db


def test_the_diary_has_the_contract_fields_and_optional_scores(clinician_client):
    patient = PatientFactory()
    url = f"{API}/patients/{patient.id}/diary/"
    body = {
        "period_start": "2026-12-01",
        "period_end": "2026-12-28",
        "headache_days": 16,
        "migraine_days": 9,
        "acute_medication_days": 6,
    }
    response = clinician_client.post(url, body)
    assert response.status_code == 201
    out = response.json()
    assert {**body, "hit6": None, "midas": None}.items() <= out.items()
    [row] = assert_page(clinician_client.get(url))
    assert row["id"] == out["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period_end": "2027-01-01"}, "period_end"),  # 32 days
        ({"headache_days": 29}, "headache_days"),  # more days than the period
        ({"migraine_days": 17}, "migraine_days"),  # migraine > headache
        ({"hit6": 35}, "hit6"),
        ({"hit6": 79}, "hit6"),
    ],
)
def test_diary_rules_are_400_naming_the_field(clinician_client, change, field):
    patient = PatientFactory()
    body = {"period_start": "2026-12-01", "period_end": "2026-12-28", "headache_days": 16, "migraine_days": 9}
    body["acute_medication_days"] = 0
    response = clinician_client.post(f"{API}/patients/{patient.id}/diary/", {**body, **change})
    assert field in assert_error(response, 400, "validation_error")["fields"]


def test_hit6_bounds_36_and_78_are_accepted(clinician_client):
    patient = PatientFactory()
    url = f"{API}/patients/{patient.id}/diary/"
    base = {"headache_days": 16, "migraine_days": 9, "acute_medication_days": 0}
    assert clinician_client.post(url, {**base, "period_start": "2026-11-01", "period_end": "2026-11-28", "hit6": 36})
    response = clinician_client.post(
        url, {**base, "period_start": "2026-12-01", "period_end": "2026-12-28", "hit6": 78}
    )
    assert response.status_code == 201


def test_an_untreated_patients_response_is_not_started_with_a_baseline_object(clinician_client, patient):
    body = clinician_client.get(f"{API}/patients/{patient.id}/response/").json()
    assert body["status"] == "not_started"
    assert body["cycles"] == [] and body["threshold_pct"] == 30
    # API.md shows `baseline` as an object; untreated, it is the diary of the last 90 days
    assert body["baseline"]["headache_days_per_28"] == 20.0
    assert body["baseline"]["diary_days"] == 56


def test_the_response_has_the_contract_shape_per_cycle(clinician_client, patient, clinician, location):
    first = treated(patient, clinician, location, date(2027, 1, 1))
    body = clinician_client.get(f"{API}/patients/{patient.id}/response/").json()
    assert set(body) >= {"status", "baseline", "threshold_pct", "cycles"}
    assert body["status"] == "insufficient_data"  # no assessed cycle yet
    assert {"headache_days_per_28", "diary_days"} <= set(body["baseline"])
    assert isinstance(body["baseline"]["headache_days_per_28"], float)
    [cycle] = body["cycles"]
    assert {"cycle", "session", "treated_on", "headache_days_per_28", "reduction_pct", "assessment"} <= set(cycle)
    assert (cycle["cycle"], cycle["session"], cycle["treated_on"]) == (1, str(first.id), "2027-01-01")
    assert cycle["assessment"] == "insufficient_data"


@pytest.mark.parametrize(
    ("headache_days", "status", "assessment"), [(14, "responder", "benefit"), (15, "non_responder", "no_benefit")]
)
def test_the_latest_assessed_cycle_decides_the_status(
    clinician_client, _now, patient, clinician, location, headache_days, status, assessment
):
    treated(patient, clinician, location, date(2027, 1, 1))
    DiaryEntryFactory(
        patient=patient, period_start=date(2027, 1, 1), period_end=date(2027, 1, 28), headache_days=headache_days
    )
    _now.move_to(datetime(2027, 2, 1, 12, tzinfo=UTC))
    body = clinician_client.get(f"{API}/patients/{patient.id}/response/").json()
    # baseline 20/28; 14 is a 30 % reduction (benefit at the 30 % threshold), 15 is 25 %
    assert body["status"] == status
    assert body["cycles"][0]["assessment"] == assessment
    assert isinstance(body["cycles"][0]["reduction_pct"], float)

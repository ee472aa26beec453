"""Booking, session buttons, the treatment form and resolving flags, through the test client."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.models import AuditLog
from clinic.timezones import local_datetime
from clinic.web.daygrid import build_day_grid
from cycles.models import ReviewFlag, TreatmentRecord
from scheduling.models import Session
from tests.factories import CourseFactory, PatientFactory, ReviewFlagFactory, SessionFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
NOW = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _at(day: date, hour: int) -> datetime:
    return local_datetime(day, time(hour), NY)


@pytest.fixture
def nora(clinician, location):
    """Treated on 21 December at 09:00 with Dr Lee: due from 15 March."""
    patient = PatientFactory(given_name="Nora", family_name="Bell")
    SessionFactory(
        patient=patient,
        clinician=clinician,
        location=location,
        start=_at(date(2026, 12, 21), 9),
        end=_at(date(2026, 12, 21), 9) + timedelta(minutes=30),
        status=Session.Status.COMPLETED,
    )
    return patient


def _proposed(html: str) -> str:
    start = html.index('<div class="slot proposed">')
    chunk = html[start : html.index("</div>", start)]
    return chunk.split('value="', 1)[1].split('"', 1)[0]


def test_the_booking_form_proposes_the_slot_twelve_weeks_on_and_books_it(desk, nora, clinician, location):
    page = desk.get(f"/patients/{nora.id}/book/").content.decode()
    proposed = _proposed(page)
    assert proposed == f"{clinician.id}|{_at(date(2027, 3, 15), 9).astimezone(UTC).isoformat()}"
    assert "checked" in page[page.index('<div class="slot proposed">') :][:400]
    assert "override_reason" not in page  # front desk may not override
    back = f"/day/?location={location.id}&date=2027-03-15"
    response = desk.post(
        f"/patients/{nora.id}/book/", {"kind": "treatment", "slot": proposed, "location": location.id, "next": back}
    )
    assert response.status_code == 302
    assert response["Location"] == back  # back where the desk came from
    booked = Session.objects.get(patient=nora, status=Session.Status.BOOKED)
    assert booked.start == _at(date(2027, 3, 15), 9) and booked.booked_by == desk.user


def test_a_slot_taken_after_the_page_was_shown_is_refused_with_the_services_message(desk, nora, clinician, location):
    proposed = _proposed(desk.get(f"/patients/{nora.id}/book/").content.decode())
    SessionFactory(clinician=clinician, location=location, start=_at(date(2027, 3, 15), 9))
    response = desk.post(f"/patients/{nora.id}/book/", {"kind": "treatment", "slot": proposed, "location": location.id})
    assert response.status_code == 200
    assert "Dr Lee already has a session at 2027-03-15 09:00" in response.content.decode()
    assert not Session.objects.filter(patient=nora, status=Session.Status.BOOKED).exists()


def test_a_too_soon_booking_names_the_earliest_date(desk, nora, clinician, location):
    data = {"kind": "treatment", "location": location.id, "clinician": clinician.id, "slot": "other"}
    response = desk.post(f"/patients/{nora.id}/book/", {**data, "on_date": "2027-03-08", "at_time": "10:00"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and "Earliest date: Mon 15 Mar 2027." in html


def test_a_clinician_may_override_the_interval_with_a_reason(doctor, nora, clinician, location):
    data = {"kind": "treatment", "location": location.id, "clinician": clinician.id, "slot": "other"}
    response = doctor.post(
        f"/patients/{nora.id}/book/",
        {**data, "on_date": "2027-03-08", "at_time": "10:00", "override_reason": "Severe relapse"},
    )
    assert response.status_code == 302
    assert Session.objects.get(patient=nora, status=Session.Status.BOOKED).override_reason == "Severe relapse"


def test_booking_needs_a_slot_or_a_full_date_and_time(desk, nora, location):
    response = desk.post(f"/patients/{nora.id}/book/", {"kind": "treatment", "location": location.id})
    assert "Choose a free slot, or “Another time” and give the clinician, date and time." in response.content.decode()
    response = desk.post(f"/patients/{nora.id}/book/", {"kind": "treatment", "slot": "other", "on_date": "2027-03-20"})
    assert response.content.decode().count("Needed for another time.") == 2  # the clinician and the time
    assert not Session.objects.filter(patient=nora, status=Session.Status.BOOKED).exists()


def test_a_typed_time_is_ignored_when_a_proposed_slot_is_chosen(desk, nora, clinician, location):
    """One choice: the radio decides, so a stale date in the "another time" fields cannot book instead."""
    proposed = _proposed(desk.get(f"/patients/{nora.id}/book/").content.decode())
    desk.post(
        f"/patients/{nora.id}/book/",
        {"kind": "treatment", "slot": proposed, "location": location.id, "on_date": "2027-03-20", "at_time": "15:00"},
    )
    assert Session.objects.get(patient=nora, status=Session.Status.BOOKED).start == _at(date(2027, 3, 15), 9)


def test_check_in_no_show_and_cancel_buttons_call_the_lifecycle_services(desk, clinician, location):
    today = SessionFactory(clinician=clinician, location=location, start=_at(date(2027, 3, 1), 10))
    later = SessionFactory(clinician=clinician, location=location, start=_at(date(2027, 3, 2), 10))
    page = f"/patients/{today.patient_id}/"
    assert desk.post(f"/sessions/{today.id}/check-in/")["Location"] == page
    today.refresh_from_db()
    assert today.status == Session.Status.CHECKED_IN
    response = desk.post(f"/sessions/{later.id}/no-show/", follow=True)
    assert "A session cannot be a no-show before it starts." in response.content.decode()
    desk.post(f"/sessions/{later.id}/cancel/", {"reason": "Patient rang"})
    later.refresh_from_db()
    assert (later.status, later.cancel_reason) == (Session.Status.CANCELLED, "Patient rang")
    assert desk.post(f"/sessions/{later.id}/explode/").status_code == 404


def test_reschedule_moves_the_session_to_the_chosen_slot(desk, clinician, location):
    session = SessionFactory(clinician=clinician, location=location, start=_at(date(2027, 3, 3), 10))
    value = f"{clinician.id}|{_at(date(2027, 3, 4), 11).astimezone(UTC).isoformat()}"
    assert value in desk.get(f"/sessions/{session.id}/reschedule/").content.decode()
    assert desk.post(f"/sessions/{session.id}/reschedule/", {"slot": value}).status_code == 302
    session.refresh_from_db()
    assert session.start == _at(date(2027, 3, 4), 11)


@pytest.fixture
def checked_in(clinician, location):
    patient = PatientFactory()
    course = CourseFactory(patient=patient)
    SessionFactory(
        patient=patient,
        course=course,
        clinician=clinician,
        location=location,
        start=_at(date(2026, 12, 7), 9),
        status=Session.Status.COMPLETED,
    )
    return SessionFactory(
        patient=patient,
        course=course,
        clinician=clinician,
        location=location,
        start=_at(date(2027, 3, 1), 9),
        status=Session.Status.CHECKED_IN,
    )


def _treatment_post(**changes):
    data = {f"units_{m}": u for m, u in TreatmentRecord.STANDARD_UNITS.items()}
    data.update(sites=31, units_wasted=0, lot_number="C1", lot_expiry="2027-12-31", notes="")
    data.update({"ae-TOTAL_FORMS": 2, "ae-INITIAL_FORMS": 0, "ae-MIN_NUM_FORMS": 0, "ae-MAX_NUM_FORMS": 10})
    data.update(changes)
    return data


def test_the_treatment_form_is_prefilled_with_the_preempt_template(doctor, checked_in):
    html = doctor.get(f"/sessions/{checked_in.id}/complete/").content.decode()
    for muscle, units in TreatmentRecord.STANDARD_UNITS.items():
        assert f'name="units_{muscle}" value="{units}"' in html
    assert 'name="sites" value="31"' in html
    assert html.count("<label for=") >= 7 + 5 + 2 * 3  # muscles, treatment fields, adverse event rows


def test_completing_a_treatment_records_it_and_its_adverse_events(
    doctor, checked_in, django_capture_on_commit_callbacks
):
    post = _treatment_post(**{"ae-0-kind": "dysphagia", "ae-0-severity": "moderate", "ae-0-note": "mild"})
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor.post(f"/sessions/{checked_in.id}/complete/", post)
    assert response.status_code == 302
    checked_in.refresh_from_db()
    assert checked_in.status == Session.Status.COMPLETED
    assert checked_in.treatment.total_units == 155
    assert checked_in.adverse_events.get().kind == "dysphagia"
    assert ReviewFlag.objects.filter(patient=checked_in.patient, kind=ReviewFlag.Kind.ADVERSE_EVENT).exists()


def test_an_expired_lot_is_refused_and_nothing_is_written(doctor, checked_in):
    response = doctor.post(f"/sessions/{checked_in.id}/complete/", _treatment_post(lot_expiry="2027-02-01"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Lot expired on 2027-02-01" in html and "The lot had expired." in html
    checked_in.refresh_from_db()
    assert checked_in.status == Session.Status.CHECKED_IN
    assert not TreatmentRecord.objects.filter(session=checked_in).exists()


def test_a_dose_over_the_maximum_is_refused(doctor, checked_in):
    response = doctor.post(f"/sessions/{checked_in.id}/complete/", _treatment_post(units_trapezius=100))
    assert "over the protocol maximum of 195 U" in response.content.decode()


def test_a_clinician_resolves_a_flag_from_the_queue(doctor, doctor_user):
    flag = ReviewFlagFactory(
        cycle=3,
        details={"baseline": 22.0, "cycle_headache_days_per_28": 21.2, "reduction_pct": 3.6, "threshold_pct": 30},
    )
    queue = doctor.get("/review/").content.decode()
    assert "Cycle 3: 21.2 headache days per 28 vs baseline 22.0, a 3.6 % reduction; benefit needs 30 %." in queue
    assert '<option value="">Choose…</option>' in queue and "selected" not in queue.split("decision-")[1][:400]
    response = doctor.post(f"/review/{flag.id}/resolve/", {"decision": "continue", "note": "ok"})
    assert response["Location"] == "/review/"
    flag.refresh_from_db()
    assert (flag.status, flag.decision, flag.resolved_by) == (ReviewFlag.Status.RESOLVED, "continue", doctor_user)
    again = doctor.post(f"/review/{flag.id}/resolve/", {"decision": "stop"}, follow=True)
    assert "already been resolved" in again.content.decode()


def test_the_day_grid_keeps_wall_clock_rows_on_the_day_clocks_spring_forward(clinician):
    day = date(2027, 3, 14)  # 02:00 → 03:00 in New York
    session = Session(clinician=clinician, start=_at(day, 9), end=_at(day, 9) + timedelta(minutes=30))
    session.clinician_id = clinician.id
    grid = build_day_grid(
        day=day,
        tz=NY,
        clinicians=[clinician],
        hours=[(clinician.id, time(9), time(11))],
        sessions=[session],
        slot_minutes=30,
    )
    assert [row.at for row in grid.rows] == [time(9), time(9, 30), time(10), time(10, 30)]
    assert grid.rows[0].cells[0].sessions == [session]
    assert all(row.cells[0].working for row in grid.rows)


def test_a_clinicians_override_on_the_booking_page_is_audited_like_the_apis(doctor, nora, clinician, location):
    data = {"kind": "treatment", "location": location.id, "clinician": clinician.id, "slot": "other"}
    response = doctor.post(
        f"/patients/{nora.id}/book/",
        {**data, "on_date": "2027-03-08", "at_time": "10:00", "override_reason": "Travelling for three months."},
    )
    assert response.status_code == 302
    audit = AuditLog.objects.get(action=AuditLog.Action.OVERRIDE, patient_id=nora.pk)
    assert audit.detail == "Travelling for three months."

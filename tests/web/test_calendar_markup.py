"""The calendar cells are written in Python (clinic.web.daygrid): every value escaped as the templates would."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.factories import ClinicianFactory, PatientFactory, SessionFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)  # Monday 08:00 in New York
TEN = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 local

NAME = '<b>O\'Hara & "Co"</b>'
ESCAPED = "&lt;b&gt;O&#x27;Hara &amp; &quot;Co&quot;&lt;/b&gt;"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_names_are_escaped_in_the_day_and_week_cells(desk, location, clinician):
    odd = ClinicianFactory(name=f"Dr {NAME}", locations=[location])
    WorkingHoursFactory(clinician=odd, location=location, weekday=0)
    patient = PatientFactory(given_name=NAME, family_name="<i>Lee</i>", mrn="<MRN&1>", phone="+12125550142")
    SessionFactory(patient=patient, clinician=clinician, location=location, start=TEN, end=TEN + timedelta(minutes=30))
    day = desk.get(f"/day/?location={location.id}&date=2027-03-01").content.decode()
    week = desk.get(f"/week/?location={location.id}&date=2027-03-01").content.decode()
    for page in (day, week):
        assert NAME not in page and "<i>Lee</i>" not in page
        assert f"{ESCAPED} &lt;i&gt;Lee&lt;/i&gt;</a>" in page  # the patient's link in the cell
    assert f'aria-label="Check in {ESCAPED} &lt;i&gt;Lee&lt;/i&gt;"' in day
    assert f'with Dr {ESCAPED}">+ 09:00</a>' in day  # a free slot of the other clinician
    assert "<td>&lt;i&gt;Lee&lt;/i&gt;, " + ESCAPED + "</td><td>&lt;MRN&amp;1&gt;</td><td>(212) 555-0142</td>" in day
    assert '">10:00 <a href="/patients/' in week

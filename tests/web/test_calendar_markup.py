"""The calendar cells are written in Python (clinic.web.daygrid): every value escaped as the templates would."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from clinic.roles import FRONT_DESK
from scheduling.models import Session
from tests.factories import ClinicianFactory, PatientFactory, SessionFactory, UserFactory, WorkingHoursFactory

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


def test_a_day_cells_check_in_button_posts_the_grids_form_and_returns_to_the_day(location, clinician):
    # The buttons name one form of the grid (the CSRF token and `next`) and their own URL: pressing one is
    # that form's fields posted to the button's formaction, as a browser does, CSRF checks on.
    session = SessionFactory(clinician=clinician, location=location, start=TEN, end=TEN + timedelta(minutes=30))
    desk = Client(enforce_csrf_checks=True)
    desk.force_login(UserFactory(username="desk-csrf", role=FRONT_DESK))
    here = f"/day/?location={location.id}&date=2027-03-01"
    page = desk.get(here).content.decode()
    form = re.search(r'<form id="calendar-actions" method="post" hidden>(.*?)</form>', page).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert fields["next"] == here.replace("&", "&amp;")
    button = re.search(
        r'<button type="submit" form="calendar-actions" formaction="([^"]+)"[^>]*>Check in</button>', page
    )
    assert button.group(1) == f"/sessions/{session.id}/check-in/"
    response = desk.post(button.group(1), {**fields, "next": html.unescape(fields["next"])})
    assert (response.status_code, response["Location"]) == (302, here)
    session.refresh_from_db()
    assert session.status == Session.Status.CHECKED_IN


def test_week_cells_link_their_free_slots_to_the_day_and_mark_today_and_days_off(desk, location, clinician):
    away = ClinicianFactory(name="Dr Away", locations=[location])  # no working hours: every day is off
    SessionFactory(clinician=clinician, location=location, start=TEN, end=TEN + timedelta(minutes=30))
    week = desk.get(f"/week/?location={location.id}&date=2027-03-01").content.decode()
    # Dr Lee works 09:00-17:00 every day, 16 half-hour slots: 15 free on Monday (today), one being booked.
    monday = re.search(
        r'<td class="week-cell today-row">\n<ul>\n<li class="booked" [^\n]*</li>\n</ul>\n'
        r'<a class="free" href="([^"]+)" aria-label="15 free slots with Dr Lee on Mon 1 Mar 2027">15 free</a>\n</td>',
        week,
    )
    assert monday.group(1) == f"/day/?location={location.id}&amp;date=2027-03-01"
    assert 'aria-label="16 free slots with Dr Lee on Tue 2 Mar 2027">16 free</a>' in week
    assert week.count('<td class="week-cell off">') == 6 and week.count('<td class="week-cell off today-row">') == 1
    assert away.name in week

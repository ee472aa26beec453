"""Live refresh: the open day or week polls /calendar/changes/ and reloads its grid when a session it shows
changes (booked, moved in or out, cancelled, checked in), and only then."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)  # Monday 08:00 in New York
TEN = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 local


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=True):
        yield


def _poll_url(client, url: str) -> str:
    page = client.get(url).content.decode()
    return html.unescape(re.search(r'hx-get="(/calendar/changes/[^"]+)"', page).group(1))


def _changed(client, poll: str) -> bool:
    response = client.get(poll)
    assert response.status_code == 204
    return response.headers.get("HX-Trigger") == "calendar-changed"


def test_the_day_reloads_when_a_session_of_that_day_changes(desk, location, clinician):
    session = SessionFactory(clinician=clinician, location=location, start=TEN, end=TEN + timedelta(minutes=30))
    day = f"/day/?location={location.id}&date=2027-03-01"
    poll = _poll_url(desk, day)
    assert not _changed(desk, poll)

    SessionFactory(
        clinician=clinician, location=location, start=TEN + timedelta(hours=1), end=TEN + timedelta(hours=1.5)
    )
    assert _changed(desk, poll)  # booked that day

    poll = _poll_url(desk, day)
    tomorrow = TEN + timedelta(days=1, hours=3)
    SessionFactory(clinician=clinician, location=location, start=tomorrow, end=tomorrow + timedelta(minutes=30))
    assert not _changed(desk, poll)  # another day: this grid shows nothing new

    session.status = "checked_in"
    session.save()
    assert _changed(desk, poll)  # checked in

    poll = _poll_url(desk, day)
    session.start, session.end = session.start + timedelta(days=2), session.end + timedelta(days=2)
    session.save()
    assert _changed(desk, poll)  # moved out of the day


def test_the_week_reloads_when_a_session_of_that_week_changes(desk, location, clinician):
    poll = _poll_url(desk, f"/week/?location={location.id}&date=2027-03-01")
    assert "view=week" in poll
    assert not _changed(desk, poll)
    sunday = TEN + timedelta(days=6)
    SessionFactory(clinician=clinician, location=location, start=sunday, end=sunday + timedelta(minutes=30))
    assert _changed(desk, poll)  # Sunday is in the week of Monday 1 March

    poll = _poll_url(desk, f"/week/?location={location.id}&date=2027-03-01")
    monday = TEN + timedelta(days=7)
    SessionFactory(clinician=clinician, location=location, start=monday, end=monday + timedelta(minutes=30))
    assert not _changed(desk, poll)  # the next week's Monday is not

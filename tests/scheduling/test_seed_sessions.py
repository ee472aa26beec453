"""seed_demo's sessions: consistent with every scheduling rule, and written once."""

from collections import defaultdict
from datetime import timedelta
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command

from cycles.models import TreatmentRecord
from scheduling import selectors, slots
from scheduling.models import Session

pytestmark = pytest.mark.usefixtures("now")


def test_seed_demo_books_history_today_and_the_coming_weeks_without_breaking_a_rule(db):
    call_command("seed_demo", stdout=StringIO())
    sessions = list(Session.objects.select_related("location", "clinician", "patient"))
    statuses = {s.status for s in sessions}
    assert {"completed", "booked", "confirmed"} <= statuses
    # Every session lies inside its clinician's working hours at its location, in local time.
    for s in sessions:
        booking = selectors.booking_calendar(
            clinician_id=s.clinician_id,
            location_id=s.location_id,
            patient_id=s.patient_id,
            start=s.start,
            end=s.end,
            exclude=s,
        )
        assert slots.fits_hours(start=s.start, end=s.end, hours=booking.calendar.hours.get(s.clinician_id, [])), s
    # No clinician and no patient is in two places at once.
    for key in ("clinician_id", "patient_id"):
        by_owner = defaultdict(list)
        for s in sessions:
            by_owner[getattr(s, key)].append((s.start, s.end))
        for intervals in by_owner.values():
            intervals.sort()
            assert all(a[1] <= b[0] for a, b in pairwise(intervals))
    # Completed treatments have records, numbered cycles, and are at least 84 days apart.
    completed = defaultdict(list)
    for s in sessions:
        if s.status == "completed":
            completed[s.course_id].append(s)
    assert completed
    assert TreatmentRecord.objects.count() == sum(len(v) for v in completed.values())
    for course_sessions in completed.values():
        course_sessions.sort(key=lambda s: s.start)
        assert [s.cycle_number for s in course_sessions] == list(range(1, len(course_sessions) + 1))
        days = [s.start.astimezone(s.location.zone).date() for s in course_sessions]
        assert all(b - a >= timedelta(days=84) for a, b in pairwise(days))
    # Future treatments respect the 12-week rule too.
    for s in sessions:
        if s.kind == "treatment" and s.status in ("booked", "confirmed"):
            last = max(c.start for c in completed[s.course_id])
            assert (s.start.astimezone(s.location.zone).date() - last.astimezone(s.location.zone).date()).days >= 84


def test_seed_demo_twice_adds_no_sessions(db):
    call_command("seed_demo", stdout=StringIO())
    count = Session.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert Session.objects.count() == count > 0

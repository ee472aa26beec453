"""The planner's pure rules: the target time and window, and the order slots are tried in."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from uuid import uuid4
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from cycles.rules import candidate_days, due_dates, next_target, rank_slots
from scheduling.slots import Slot

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
DEFAULT = SimpleNamespace(interval_days=84, min_interval_days=84, window_days=14)


def test_twelve_weeks_after_0900_in_new_york_before_dst_is_0900_after_it():
    last = datetime(2027, 1, 5, 9, 0, tzinfo=NEW_YORK)  # EST, UTC−5
    target = next_target(last, NEW_YORK, DEFAULT)
    assert target.start.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2027, 3, 30, 9, 0)
    assert target.start.astimezone(UTC) == datetime(2027, 3, 30, 13, 0, tzinfo=UTC)  # EDT, UTC−4
    assert target.start.astimezone(UTC) - last.astimezone(UTC) == timedelta(days=84) - timedelta(hours=1)


def test_twelve_weeks_across_the_autumn_change_in_london_keeps_the_wall_clock():
    last = datetime(2026, 9, 15, 14, 30, tzinfo=LONDON)  # BST
    target = next_target(last, LONDON, DEFAULT)
    assert target.start.astimezone(UTC) == datetime(2026, 12, 8, 14, 30, tzinfo=UTC)  # GMT


def test_the_window_runs_from_day_84_to_day_98_after_the_last_local_date():
    # 23:30 in New York is already the next day in UTC: the local date counts.
    last = datetime(2027, 1, 5, 23, 30, tzinfo=NEW_YORK)
    target = next_target(last, NEW_YORK, DEFAULT)
    assert (target.due_from, target.due_by) == (date(2027, 3, 30), date(2027, 4, 13))


def test_the_window_follows_the_protocol():
    protocol = SimpleNamespace(interval_days=90, min_interval_days=80, window_days=10)
    assert due_dates(date(2027, 1, 1), protocol) == (date(2027, 3, 22), date(2027, 4, 11))


def test_candidate_days_start_today_inside_the_window_and_end_when_it_has_passed():
    target = next_target(datetime(2027, 1, 5, 9, tzinfo=NEW_YORK), NEW_YORK, DEFAULT)
    assert candidate_days(target, date(2027, 1, 6)) == (date(2027, 3, 30), date(2027, 4, 13))
    assert candidate_days(target, date(2027, 4, 2)) == (date(2027, 4, 2), date(2027, 4, 13))
    assert candidate_days(target, date(2027, 4, 13)) == (date(2027, 4, 13), date(2027, 4, 13))
    assert candidate_days(target, date(2027, 4, 14)) is None


def _slot(clinician, start):
    return Slot(clinician, "loc", start, start + timedelta(minutes=30))


def test_the_same_clinician_comes_first_even_when_another_is_nearer():
    same, other = uuid4(), uuid4()
    target = datetime(2027, 3, 30, 13, tzinfo=UTC)
    far_same = _slot(same, target + timedelta(days=5))
    near_other = _slot(other, target)
    assert rank_slots(slots=[near_other, far_same], target=target, clinician_id=same) == [far_same, near_other]


def test_the_nearest_slot_wins_and_a_tie_goes_to_the_earlier():
    same = uuid4()
    target = datetime(2027, 3, 30, 13, tzinfo=UTC)
    before = _slot(same, target - timedelta(minutes=30))
    after = _slot(same, target + timedelta(minutes=30))
    far = _slot(same, target + timedelta(hours=3))
    assert rank_slots(slots=[far, after, before], target=target, clinician_id=same) == [before, after, far]


@given(
    offsets=st.lists(st.integers(min_value=-20_000, max_value=20_000), min_size=1, max_size=30, unique=True),
    owners=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_ranking_is_same_clinician_first_then_by_distance(offsets, owners):
    same, other = uuid4(), uuid4()
    target = datetime(2027, 3, 30, 13, tzinfo=UTC)
    slots = [_slot(same if owners[i] else other, target + timedelta(minutes=m)) for i, m in enumerate(offsets)]
    ranked = rank_slots(slots=slots, target=target, clinician_id=same)
    keys = [(s.clinician_id != same, abs(s.start - target), s.start) for s in ranked]
    assert keys == sorted(keys)
    assert sorted(ranked, key=lambda s: s.start) == sorted(slots, key=lambda s: s.start)


def test_distance_is_elapsed_time_across_a_dst_change():
    # Clocks go forward at 02:00 on 8 March 2026 in New York; the target is 01:30 EST.
    same = uuid4()
    target = datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)
    wall_far = _slot(same, datetime(2026, 3, 8, 3, 15, tzinfo=NEW_YORK))  # 45 min elapsed, 1 h 45 by the clock
    wall_near = _slot(same, datetime(2026, 3, 8, 0, 30, tzinfo=NEW_YORK))  # 60 min either way
    assert rank_slots(slots=[wall_near, wall_far], target=target, clinician_id=same) == [wall_far, wall_near]

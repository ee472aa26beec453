"""Free slots as a pure function, and working hours expanded across DST changes."""

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.slots import HoursRule, expand_hours, fits_hours, free_slots, merge

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")
HALF_HOUR = timedelta(minutes=30)
CLINICIAN = uuid.uuid4()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_starts(slots, tz):
    return [s.astimezone(tz).strftime("%H:%M") for s, _ in slots]


def expand(day: date, tz: ZoneInfo, start=time(9), end=time(17)):
    rules = [HoursRule(CLINICIAN, day.weekday(), start, end)]
    return expand_hours(rules=rules, start_date=day, end_date=day, tz=tz)[CLINICIAN]


def test_a_free_day_is_cut_into_back_to_back_slots():
    hours = [(utc(2027, 1, 4, 14), utc(2027, 1, 4, 16))]
    slots = free_slots(hours=hours, busy=[], length=HALF_HOUR)
    assert [s for s, _ in slots] == [
        utc(2027, 1, 4, 14),
        utc(2027, 1, 4, 14, 30),
        utc(2027, 1, 4, 15),
        utc(2027, 1, 4, 15, 30),
    ]
    assert all(e - s == HALF_HOUR for s, e in slots)


def test_a_busy_interval_removes_the_slots_it_touches_and_the_next_starts_when_it_ends():
    hours = [(utc(2027, 1, 4, 14), utc(2027, 1, 4, 16))]
    busy = [(utc(2027, 1, 4, 14, 30), utc(2027, 1, 4, 15))]
    assert [s for s, _ in free_slots(hours=hours, busy=busy, length=HALF_HOUR)] == [
        utc(2027, 1, 4, 14),
        utc(2027, 1, 4, 15),
        utc(2027, 1, 4, 15, 30),
    ]


def test_an_off_grid_busy_interval_pushes_to_the_next_grid_point():
    hours = [(utc(2027, 1, 4, 14), utc(2027, 1, 4, 16))]
    busy = [(utc(2027, 1, 4, 14, 10), utc(2027, 1, 4, 14, 40))]
    assert [s for s, _ in free_slots(hours=hours, busy=busy, length=HALF_HOUR)] == [
        utc(2027, 1, 4, 15),
        utc(2027, 1, 4, 15, 30),
    ]


def test_a_slot_never_runs_past_the_end_of_working_hours():
    hours = [(utc(2027, 1, 4, 14), utc(2027, 1, 4, 15, 15))]
    assert [s for s, _ in free_slots(hours=hours, busy=[], length=HALF_HOUR)] == [
        utc(2027, 1, 4, 14),
        utc(2027, 1, 4, 14, 30),
    ]


def test_a_smaller_step_offers_overlapping_candidates():
    hours = [(utc(2027, 1, 4, 14), utc(2027, 1, 4, 15))]
    slots = free_slots(hours=hours, busy=[], length=HALF_HOUR, step=timedelta(minutes=15))
    assert [s.minute for s, _ in slots] == [0, 15, 30]


def test_time_off_spanning_the_whole_day_leaves_nothing():
    hours = [(utc(2027, 1, 4, 14), utc(2027, 1, 4, 22))]
    busy = [(utc(2027, 1, 3), utc(2027, 1, 6))]
    assert free_slots(hours=hours, busy=busy, length=HALF_HOUR) == []


def test_merge_joins_overlapping_and_touching_intervals():
    a, b, c, d = utc(2027, 1, 1, 9), utc(2027, 1, 1, 10), utc(2027, 1, 1, 11), utc(2027, 1, 1, 12)
    assert merge([(c, d), (a, b), (b, c)]) == [(a, d)]


def test_fits_hours_needs_the_whole_session_inside_one_interval():
    hours = [(utc(2027, 1, 4, 14), utc(2027, 1, 4, 16))]
    assert fits_hours(start=utc(2027, 1, 4, 15, 40), end=utc(2027, 1, 4, 16), hours=hours)
    assert not fits_hours(start=utc(2027, 1, 4, 15, 45), end=utc(2027, 1, 4, 16, 15), hours=hours)


# --- DST: working hours are local wall-clock time on both sides of each change ---------


def test_new_york_spring_forward_day_keeps_nine_to_five_local_and_loses_no_slot():
    # 2027-03-14: clocks go 02:00 EST → 03:00 EDT. The day is 23 hours long; office hours are not touched.
    hours = expand(date(2027, 3, 14), NY)
    assert hours == [(utc(2027, 3, 14, 13), utc(2027, 3, 14, 21))]  # 09:00–17:00 EDT (−4)
    slots = free_slots(hours=hours, busy=[], length=HALF_HOUR)
    assert len(slots) == 16
    assert local_starts(slots, NY)[0] == "09:00"
    assert local_starts(slots, NY)[-1] == "16:30"


def test_new_york_the_day_before_spring_forward_is_still_on_standard_time():
    assert expand(date(2027, 3, 13), NY) == [(utc(2027, 3, 13, 14), utc(2027, 3, 13, 22))]  # −5


def test_new_york_fall_back_day_keeps_nine_to_five_local():
    # 2027-11-07: clocks go 02:00 EDT → 01:00 EST.
    hours = expand(date(2027, 11, 7), NY)
    assert hours == [(utc(2027, 11, 7, 14), utc(2027, 11, 7, 22))]  # −5 all office day
    assert local_starts(free_slots(hours=hours, busy=[], length=HALF_HOUR), NY)[0] == "09:00"
    assert expand(date(2027, 11, 6), NY) == [(utc(2027, 11, 6, 13), utc(2027, 11, 6, 21))]  # −4 the day before


def test_london_spring_forward_day_keeps_nine_to_five_local():
    # 2027-03-28: 01:00 GMT → 02:00 BST.
    assert expand(date(2027, 3, 27), LONDON) == [(utc(2027, 3, 27, 9), utc(2027, 3, 27, 17))]
    hours = expand(date(2027, 3, 28), LONDON)
    assert hours == [(utc(2027, 3, 28, 8), utc(2027, 3, 28, 16))]
    assert local_starts(free_slots(hours=hours, busy=[], length=HALF_HOUR), LONDON)[:2] == ["09:00", "09:30"]


def test_london_fall_back_day_keeps_nine_to_five_local():
    # 2027-10-31: 02:00 BST → 01:00 GMT.
    assert expand(date(2027, 10, 30), LONDON) == [(utc(2027, 10, 30, 8), utc(2027, 10, 30, 16))]
    hours = expand(date(2027, 10, 31), LONDON)
    assert hours == [(utc(2027, 10, 31, 9), utc(2027, 10, 31, 17))]
    assert len(free_slots(hours=hours, busy=[], length=HALF_HOUR)) == 16


def test_hours_starting_inside_the_spring_gap_start_when_the_clocks_resume():
    # 02:30 does not exist on 2027-03-14 in New York: the stated rule moves it forward by the gap, to 03:30 EDT.
    hours = expand(date(2027, 3, 14), NY, start=time(2, 30), end=time(5))
    assert hours == [(utc(2027, 3, 14, 7, 30), utc(2027, 3, 14, 9))]
    assert local_starts(free_slots(hours=hours, busy=[], length=HALF_HOUR), NY) == ["03:30", "04:00", "04:30"]


def test_hours_across_the_repeated_hour_are_an_hour_longer_in_real_time():
    # 00:30–02:30 on 2027-11-07 in New York: 01:00–02:00 happens twice, so there are 3 hours of real time.
    hours = expand(date(2027, 11, 7), NY, start=time(0, 30), end=time(2, 30))
    start, end = hours[0]
    assert end - start == timedelta(hours=3)
    assert local_starts(free_slots(hours=hours, busy=[], length=timedelta(hours=1)), NY) == ["00:30", "01:30", "01:30"]


def test_an_ambiguous_start_is_its_first_occurrence():
    # 01:30 on 2027-10-31 in London happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT): the first one.
    hours = expand(date(2027, 10, 31), LONDON, start=time(1, 30), end=time(3))
    assert hours[0][0] == utc(2027, 10, 31, 0, 30)


def test_expansion_covers_each_weekday_rule_on_its_own_days_only():
    rules = [HoursRule(CLINICIAN, 0, time(9), time(12)), HoursRule(CLINICIAN, 2, time(13), time(17))]
    out = expand_hours(rules=rules, start_date=date(2027, 3, 8), end_date=date(2027, 3, 21), tz=NY)
    days = [s.astimezone(NY).date() for s, _ in out[CLINICIAN]]
    assert days == [date(2027, 3, 8), date(2027, 3, 10), date(2027, 3, 15), date(2027, 3, 17)]
    assert {s.astimezone(NY).time() for s, _ in out[CLINICIAN]} == {time(9), time(13)}


# --- properties -------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=16 * 60)
busy_strategy = st.lists(
    st.tuples(minutes, st.integers(min_value=1, max_value=180)).map(
        lambda t: (utc(2027, 1, 4, 6) + timedelta(minutes=t[0]), utc(2027, 1, 4, 6) + timedelta(minutes=t[0] + t[1]))
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    busy=busy_strategy,
    length_minutes=st.sampled_from([15, 20, 30, 45, 60]),
    step_minutes=st.sampled_from([None, 5, 15, 30]),
)
def test_every_slot_fits_the_hours_overlaps_nothing_busy_and_sits_on_the_grid(busy, length_minutes, step_minutes):
    hours = [(utc(2027, 1, 4, 8), utc(2027, 1, 4, 12)), (utc(2027, 1, 4, 13), utc(2027, 1, 4, 18))]
    length = timedelta(minutes=length_minutes)
    step = timedelta(minutes=step_minutes) if step_minutes else length
    slots = free_slots(hours=hours, busy=busy, length=length, step=step)
    for start, end in slots:
        assert end - start == length
        assert fits_hours(start=start, end=end, hours=hours)
        assert not any(start < b_end and b_start < end for b_start, b_end in busy)
        assert any((start - h_start) % step == timedelta(0) for h_start, _ in hours)
    # Complete: every grid point that is free is offered.
    for h_start, h_end in hours:
        candidate = h_start
        while candidate + length <= h_end:
            free = not any(candidate < b_end and b_start < candidate + length for b_start, b_end in busy)
            assert free == ((candidate, candidate + length) in slots)
            candidate += step
    assert slots == sorted(set(slots))


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Sydney", "America/Santiago", "Asia/Tokyo"]),
    start_hour=st.integers(min_value=6, max_value=12),
    hours_long=st.integers(min_value=1, max_value=9),
)
def test_working_hours_always_open_and_close_at_their_local_wall_clock_time(day, zone, start_hour, hours_long):
    tz = ZoneInfo(zone)
    start, end = expand(day, tz, start=time(start_hour), end=time(start_hour + hours_long))[0]
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert start.astimezone(tz).date() == day
    assert start.astimezone(tz).time() == time(start_hour)
    assert end.astimezone(tz).time() == time(start_hour + hours_long)
    slots = free_slots(hours=[(start, end)], busy=[], length=HALF_HOUR)
    assert local_starts(slots, tz)[0] == f"{start_hour:02d}:00"
    # Office hours never contain a DST change in these zones, so every local half hour is a slot.
    assert len(slots) == hours_long * 2


def reference_free_slots(hours, busy, length, step):
    """Every grid point of every hours interval, tested against every busy interval: slow and plain."""
    found = set()
    for h_start, h_end in hours:
        h_start, h_end = h_start.astimezone(UTC), h_end.astimezone(UTC)
        candidate = h_start
        while candidate + length <= h_end:
            if not any(candidate < b_end and b_start < candidate + length for b_start, b_end in busy):
                found.add((candidate, candidate + length))
            candidate += step
    return sorted(found)


hours_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=20 * 60), st.integers(min_value=0, max_value=8 * 60)).map(
        lambda t: (utc(2027, 1, 4, 2) + timedelta(minutes=t[0]), utc(2027, 1, 4, 2) + timedelta(minutes=t[0] + t[1]))
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(
    hours=hours_strategy,
    busy=busy_strategy,
    length_minutes=st.sampled_from([15, 30, 45, 60]),
    step_minutes=st.sampled_from([None, 5, 15, 30]),
)
def test_free_slots_match_a_plain_search_for_hours_in_any_order_overlapping_or_not(
    hours, busy, length_minutes, step_minutes
):
    # free_slots skips its sort when the hours do not overlap; these hours come unsorted, overlapping,
    # touching, repeated or empty, in New York's zone or UTC's.
    length = timedelta(minutes=length_minutes)
    step = timedelta(minutes=step_minutes) if step_minutes else length
    hours = [(s.astimezone(NY), e.astimezone(NY)) if k % 2 else (s, e) for k, (s, e) in enumerate(hours)]
    found = free_slots(hours=hours, busy=busy, length=length, step=step)
    assert found == reference_free_slots(hours, busy, length, step)
    assert all(s.tzinfo == UTC_ZONE and e.tzinfo == UTC_ZONE for s, e in found)


@settings(max_examples=100, deadline=None)
@given(
    day=st.sampled_from([date(2027, 3, 14), date(2027, 11, 7), date(2027, 3, 28), date(2027, 10, 31)]),
    zone=st.sampled_from(["America/New_York", "Europe/London"]),
    start_minutes=st.integers(min_value=0, max_value=4 * 60).map(lambda m: m - m % 15),
    second=st.sampled_from([time(5), time(6)]),
    busy=st.lists(st.tuples(st.integers(min_value=0, max_value=6 * 60), st.integers(min_value=1, max_value=90))),
)
def test_free_slots_on_dst_change_days_match_a_plain_search(day, zone, start_minutes, second, busy):
    # Hours from 00:00–04:00 local start the night the clocks change: some start in the gap or the repeated
    # hour. A second interval from 05:00 overlaps the first, one from 06:00 touches it.
    tz = ZoneInfo(zone)
    start = time(start_minutes // 60, start_minutes % 60)
    rules = [HoursRule(CLINICIAN, day.weekday(), start, time(6)), HoursRule(CLINICIAN, day.weekday(), second, time(9))]
    hours = expand_hours(rules=rules, start_date=day, end_date=day, tz=tz)[CLINICIAN]
    midnight = hours[0][0].replace(hour=0, minute=0)
    busy = [(midnight + timedelta(minutes=m), midnight + timedelta(minutes=m + n)) for m, n in busy]
    assert free_slots(hours=hours, busy=busy, length=HALF_HOUR) == reference_free_slots(
        hours, busy, HALF_HOUR, HALF_HOUR
    )


def test_clinicians_sharing_a_start_time_each_get_each_days_own_instant():
    # expand_hours converts each local (date, time) once for all the clinicians that share it; here across
    # London's fall-back day (01:30 happens twice: the first) and the week after.
    other = uuid.uuid4()
    rules = [HoursRule(CLINICIAN, 6, time(1, 30), time(9)), HoursRule(other, 6, time(1, 30), time(3))]
    out = expand_hours(rules=rules, start_date=date(2027, 10, 31), end_date=date(2027, 11, 7), tz=LONDON)
    assert out[CLINICIAN] == [
        (utc(2027, 10, 31, 0, 30), utc(2027, 10, 31, 9)),
        (utc(2027, 11, 7, 1, 30), utc(2027, 11, 7, 9)),
    ]
    assert out[other] == [
        (utc(2027, 10, 31, 0, 30), utc(2027, 10, 31, 3)),
        (utc(2027, 11, 7, 1, 30), utc(2027, 11, 7, 3)),
    ]


@settings(max_examples=300, deadline=None)
@given(
    intervals=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=6 * 60),
            st.integers(min_value=1, max_value=120),
            st.sampled_from([UTC, timezone(timedelta(hours=-5)), NY, UTC_ZONE]),
        ),
        max_size=10,
    )
)
def test_merge_of_fixed_offset_and_zoned_ends_across_the_repeated_hour_is_the_union_in_utc(intervals):
    # merge leaves fixed-offset ends as they are until the union is made; zoned ones (here New York's on its
    # fall-back night, where wall-clock order is not time order) must be put in UTC first.
    night = utc(2027, 11, 7, 4)  # 00:00 EDT
    made = [
        ((night + timedelta(minutes=m)).astimezone(tz), (night + timedelta(minutes=m + n)).astimezone(tz))
        for m, n, tz in intervals
    ]
    # The reference is merge as it was, every interval put in UTC first (and, as it was, one whose ends read
    # the same or backwards on the wall clock of one zone is left out, though real time passed).
    in_utc = sorted((s.astimezone(UTC_ZONE), e.astimezone(UTC_ZONE)) for s, e in made if e > s)
    union = []
    for start, end in in_utc:
        if union and start <= union[-1][1]:
            union[-1] = (union[-1][0], max(end, union[-1][1]))
        else:
            union.append((start, end))
    merged = merge(made)
    assert merged == union
    assert all(s.tzinfo is UTC_ZONE and e.tzinfo is UTC_ZONE for s, e in merged)

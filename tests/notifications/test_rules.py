"""The pure send-time rules: quiet hours and SMS caps, over many instants and zones."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from notifications.rules import hold_for_quiet_hours, in_quiet_hours, sms_cap_release

QUIET = (time(21), time(8))
ZONES = st.sampled_from(["America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Lord_Howe", "Asia/Kolkata"])
INSTANTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(INSTANTS, ZONES)
def test_a_held_delivery_lands_outside_quiet_hours_within_eleven_hours(instant, zone):
    tz = ZoneInfo(zone)
    held = hold_for_quiet_hours(instant, tz, *QUIET)
    assert not in_quiet_hours(held, tz, *QUIET)
    assert instant <= held <= instant + timedelta(hours=11, minutes=30)  # 21:00 → 08:00, plus a DST hour
    if held != instant:
        assert held.astimezone(tz).time() == time(8)


@settings(max_examples=300, deadline=None)
@given(INSTANTS, ZONES, st.lists(st.integers(min_value=1, max_value=14 * 24 * 60), max_size=6))
# Found by this test: a release at local midnight before Lord Howe's half-hour DST change, whose rolling week
# was then counted in wall-clock days.
@example(datetime(2026, 4, 4, 21, 0, tzinfo=UTC), "Australia/Lord_Howe", [1, 1, 9090])
def test_the_sms_caps_release_the_earliest_instant_that_keeps_both_caps(now, zone, minutes_ago):
    tz = ZoneInfo(zone)
    sent = [now - timedelta(minutes=m) for m in minutes_ago]
    release = sms_cap_release(now, tz, sent, per_day=1, per_week=3)
    at = release or now
    local_day = at.astimezone(tz).date()
    assert sum(1 for t in sent if t.astimezone(tz).date() == local_day) < 1
    assert sum(1 for t in sent if at - timedelta(days=7) < t <= at) < 3
    if release is not None:
        assert release > now


def test_two_sms_on_one_local_day_in_tokyo_are_on_two_utc_days():
    tz = ZoneInfo("Asia/Tokyo")
    first = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)  # 08:30 on 2 March in Tokyo
    release = sms_cap_release(datetime(2027, 3, 2, 10, tzinfo=UTC), tz, [first], per_day=1, per_week=3)
    assert release == datetime(2027, 3, 2, 15, tzinfo=UTC)  # midnight in Tokyo; quiet hours then hold to 08:00

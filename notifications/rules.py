"""Pure send-time rules: quiet hours and SMS caps. No database access."""

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.timezones import day_bounds, local_datetime


def in_quiet_hours(instant: datetime, tz: ZoneInfo, start: time, end: time) -> bool:
    clock = instant.astimezone(tz).time()
    if start > end:  # wraps midnight: 21:00–08:00
        return clock >= start or clock < end
    return start <= clock < end


def hold_for_quiet_hours(instant: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`instant` if it is outside quiet hours, else the end of those quiet hours (08:00 local)."""
    if not in_quiet_hours(instant, tz, start, end):
        return instant
    local = instant.astimezone(tz)
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)  # 23:30 → tomorrow 08:00
    # Wall clock in the patient's zone: 08:00 stays 08:00 on a DST morning.
    return local_datetime(day, end, tz)


def sms_cap_release(
    now: datetime, tz: ZoneInfo, sent: Sequence[datetime], *, per_day: int, per_week: int
) -> datetime | None:
    """None when one more SMS may go now; else the earliest instant the caps allow it.

    `sent` are the instants of the patient's SMS already sent (or being sent).
    Per day is the patient's local calendar day; per week is a rolling 7 × 24 h.
    """
    candidate = now
    for _ in range(16):
        day_start, day_end = day_bounds(candidate.astimezone(tz).date(), tz)
        today = [t for t in sent if day_start <= t < day_end]
        window = sorted(t for t in sent if candidate - timedelta(days=7) < t <= candidate)
        moved = candidate
        if per_day and len(today) >= per_day:
            # In UTC: the rolling week below subtracts 7 days, which on a local datetime is wall-clock arithmetic
            # (wrong by the DST shift across a change: half an hour at Lord Howe, an hour elsewhere).
            moved = max(moved, day_end.astimezone(UTC))
        if per_week and len(window) >= per_week:
            moved = max(moved, window[-per_week] + timedelta(days=7))
        if moved == candidate:
            return None if candidate == now else candidate
        candidate = moved
    return candidate

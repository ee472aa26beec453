"""Free-slot computation: pure functions over aware datetimes, no database.

Working hours are wall-clock rules ("Mondays 09:00–17:00 at London Bridge"); they
are expanded per local date with `clinic.timezones.local_datetime`, so a 09:00
start is 09:00 local on both sides of a DST change. The DST rule is the one in
clinic/timezones.py: a nonexistent local time (spring forward) moves forward by
the gap (02:30 → 03:30), an ambiguous one (fall back) is its first occurrence.
Inside one working-hours interval slots step in real elapsed time from its start.

Everything here works in UTC: Python compares and subtracts two datetimes that
share a tzinfo by their wall-clock readings, which is wrong across a DST change
(00:30 to 02:30 on a fall-back night is three hours, not two).
"""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import pairwise
from uuid import UUID
from zoneinfo import ZoneInfo

from clinic.timezones import local_datetime

Interval = tuple[datetime, datetime]
UTC = ZoneInfo("UTC")


def _utc(interval: Interval) -> Interval:
    return interval[0].astimezone(UTC), interval[1].astimezone(UTC)


@dataclass(frozen=True)
class HoursRule:
    """One WorkingHours row, reduced to what the expansion needs."""

    clinician_id: UUID
    weekday: int
    start_time: time
    end_time: time


@dataclass(frozen=True, slots=True)  # slots: a month's search makes thousands
class Slot:
    clinician_id: UUID
    location_id: UUID
    start: datetime
    end: datetime


def _exact(interval: Interval) -> Interval:
    """The interval as it is if both ends have a fixed offset (as the database returns them, no DST to get
    wrong), else in UTC."""
    if type(interval[0].tzinfo) is timezone and type(interval[1].tzinfo) is timezone:
        return interval
    return _utc(interval)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of half-open intervals (touching ones joined), in UTC."""
    out: list[Interval] = []
    # Only the union is converted to UTC: a month of busy sessions joins into a few intervals a day.
    for start, end in sorted(_exact(i) for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return [_utc(i) for i in out]


def free_slots(
    *,
    hours: list[Interval],
    busy: list[Interval],
    length: timedelta,
    step: timedelta | None = None,
) -> list[Interval]:
    """Every [start, start + length) inside one of `hours` that overlaps nothing in `busy`.

    Candidates start at each hours interval's start and every `step` (default
    `length`) after it; intervals are half-open, so a slot may start exactly when
    a busy interval ends. Returned in UTC, sorted by start, without duplicates.
    """
    if length <= timedelta(0):
        raise ValueError("length must be positive")
    step = step or length
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    blocked = merge(busy)
    ends = [end for _, end in blocked]
    hours = sorted(map(_utc, hours))
    found: list[Interval] = []
    for h_start, h_end in hours:
        last_start = h_end - length  # in UTC, so the same as `candidate + length <= h_end`
        candidate = h_start
        # The first busy interval that ends after the candidate starts: found once per interval, then
        # moved forward with the candidate (this loop runs for every slot of a month's search).
        index = bisect_right(ends, candidate)
        while candidate <= last_start:
            while index < len(ends) and ends[index] <= candidate:
                index += 1
            slot_end = candidate + length
            if index < len(ends) and blocked[index][0] < slot_end:
                # Jump to the first grid point at or after the end of the blocking interval.
                gap = ends[index] - h_start
                candidate = h_start + step * -(-gap // step)
                continue
            found.append((candidate, slot_end))
            candidate += step
    # Hours that do not overlap (the usual case) give their slots in order and once each already.
    if all(earlier[1] <= later[0] for earlier, later in pairwise(hours)):
        return found
    return sorted(set(found))


def expand_hours(*, rules: Iterable[HoursRule], start_date: date, end_date: date, tz: ZoneInfo) -> dict:
    """{clinician_id: [(start, end), ...]} in UTC for every local date in [start_date, end_date]."""
    by_weekday: dict[int, list[HoursRule]] = {}
    for rule in rules:
        by_weekday.setdefault(rule.weekday, []).append(rule)
    # Each local (date, time) converted once: the clinicians of a location mostly share their hours.
    instants: dict[tuple[date, time], datetime] = {}

    def instant(day: date, at: time) -> datetime:
        if (day, at) not in instants:
            instants[day, at] = local_datetime(day, at, tz).astimezone(UTC)
        return instants[day, at]

    out: dict[UUID, list[Interval]] = {}
    day = start_date
    while day <= end_date:
        for rule in by_weekday.get(day.weekday(), ()):
            start, end = instant(day, rule.start_time), instant(day, rule.end_time)
            if end > start:
                out.setdefault(rule.clinician_id, []).append((start, end))
        day += timedelta(days=1)
    return out


def fits_hours(*, start: datetime, end: datetime, hours: Iterable[Interval]) -> bool:
    """Whether [start, end) lies wholly inside one working-hours interval."""
    start, end = _utc((start, end))
    return any(h_start <= start and end <= h_end for h_start, h_end in map(_utc, hours))


def overlaps(a: Interval, b: Interval) -> bool:
    a, b = _utc(a), _utc(b)
    return a[0] < b[1] and b[0] < a[1]

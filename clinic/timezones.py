"""Wall-clock time in a location's or patient's IANA zone.

Everything is stored in UTC; these helpers are the only place that turns a
local date and time into an instant. DST rule for local times that do not exist
(spring forward) or happen twice (fall back): `fold=0`, i.e. the earlier
reading. A nonexistent 02:30 therefore becomes 03:30 of the new offset, and an
ambiguous 01:30 is the first (daylight) 01:30.
"""

from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

# IANA's placeholder for "no zone configured": a valid file, but never a clinic's or a patient's zone.
_NOT_A_PLACE = frozenset({"Factory"})


@cache
def iana_time_zones() -> tuple[str, ...]:
    """The zone names of the IANA time zone database (the `tzdata` package's list), sorted.

    Not `zoneinfo.available_timezones()`: that also lists whatever the machine's
    /usr/share/zoneinfo holds, such as `localtime` (the server's own zone, whatever it is).
    """
    listed = resources.files("tzdata").joinpath("zones").read_text().split()
    return tuple(sorted(set(listed) - _NOT_A_PLACE))


def validate_time_zone(value: str) -> str:
    if not isinstance(value, str) or value not in _zone_set():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/London).", code="invalid")
    ZoneInfo(value)  # every listed name loads (tzdata ships them all)
    return value


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(iana_time_zones())


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant at which clocks in `tz` read `day` `at`, normalised through UTC."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz, fold=0)
    # Round-trip through UTC so a nonexistent time lands on the real instant.
    return aware.astimezone(ZoneInfo("UTC")).astimezone(tz)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def today_in(tz: ZoneInfo) -> date:
    return timezone.now().astimezone(tz).date()


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as aware instants (23 or 25 hours on DST days)."""
    return local_datetime(day, time.min, tz), local_datetime(day + timedelta(days=1), time.min, tz)


def shift_days_keep_wall_clock(instant: datetime, days: int, tz: ZoneInfo) -> datetime:
    """Same local time `days` later: 09:00 stays 09:00 across a DST change."""
    local = instant.astimezone(tz)
    return local_datetime(local.date() + timedelta(days=days), local.time().replace(tzinfo=None), tz)

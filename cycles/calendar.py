"""The planner's calendar: where one course's next treatment goes, in memory (pure).

Built on `scheduling.calendar.Calendar` (the same hours, leave and overlap checks a
front-desk booking passes); `place` adds the planner's choice: the target if it is
free and the course rules accept it, else the nearest free slot of the window that
they accept, the same clinician's first. Placing a session makes its clinician and
patient busy for the rest of the batch.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.timezones import day_bounds, local_date
from cycles.rules import Target, slot_preference
from scheduling import slots
from scheduling.calendar import Calendar
from scheduling.slots import Slot

Accept = Callable[[Slot], bool]


@dataclass
class PlannerCalendar:
    """One location's Calendar over the days a batch of courses may be booked on."""

    location_id: object
    tz: ZoneInfo
    calendar: Calendar
    # Clinician id -> (how many of calendar.busy[cid] are in, their starts sorted, the intervals in that order,
    # the longest): each course's search reads the sessions near its window by bisection. The busy lists only
    # grow (`Calendar.take`, shared with the batch's other locations), so new entries are merged in as they come.
    _sorted: dict = field(default_factory=dict, repr=False)

    def place(
        self,
        *,
        target: Target,
        clinician_id,
        patient_id,
        days: tuple[date, date],
        now: datetime,
        length: timedelta,
        accept: Accept = lambda slot: True,
    ) -> Slot | None:
        """The target if it is free and accepted, else the nearest such slot on days[0]..days[1]; sessions
        of `length` (the course protocol's)."""
        start = target.start.astimezone(UTC)
        wanted = Slot(clinician_id, self.location_id, start, start + length)
        if (
            start >= now
            and days[0] <= local_date(start, self.tz) <= days[1]
            and self.calendar.problem(wanted.start, wanted.end, clinician_id=clinician_id, patient_id=patient_id)
            is None
            and accept(wanted)
        ):
            return self._take(wanted, patient_id)
        first, _ = day_bounds(days[0], self.tz)
        _, last = day_bounds(days[1], self.tz)
        nearest = []  # per clinician, the accepted free slots just before and just after the target
        for cid, hours in self.calendar.hours.items():
            window = [h for h in hours if first <= h[0] < last]
            if not window:
                continue
            low, high = min(h[0] for h in window), max(h[1] for h in window)
            free = slots.free_slots(
                hours=window,
                # Only what overlaps the window's hours: the batch's calendar spans every course's window, and
                # sorting all of it again for each course was most of a planner chunk's time.
                busy=self._blocked_near(cid, patient_id, low, high),
                length=length,
            )  # sorted by start, in UTC
            free = [Slot(cid, self.location_id, *f) for f in free[bisect_left(free, (now,)) :]]
            at = bisect_left([s.start for s in free], start)
            before = next((s for s in reversed(free[:at]) if accept(s)), None)
            after = next((s for s in free[at:] if accept(s)), None)
            nearest += [s for s in (before, after) if s is not None]
        if not nearest:
            return None
        return self._take(min(nearest, key=slot_preference(target=start, clinician_id=clinician_id)), patient_id)

    def _blocked_near(self, cid, patient_id, low: datetime, high: datetime) -> list:
        """`Calendar.blocked(cid, patient_id)`, only what overlaps [low, high)."""
        busy = self.calendar.busy.get(cid, [])
        seen, starts, intervals, longest = self._sorted.get(cid, (0, [], [], timedelta(0)))
        for interval in busy[seen:]:
            at = bisect_right(starts, interval[0])
            starts.insert(at, interval[0])
            intervals.insert(at, interval)
            longest = max(longest, interval[1] - interval[0])
        self._sorted[cid] = (len(busy), starts, intervals, longest)
        near = intervals[bisect_left(starts, low - longest) : bisect_left(starts, high)]
        others = [*self.calendar.time_off.get(cid, ()), *self.calendar.patient_busy.get(patient_id, ())]
        return [b for b in near if low < b[1]] + [b for b in others if b[0] < high and low < b[1]]

    def _take(self, slot: Slot, patient_id) -> Slot:
        self.calendar.take(slot.start, slot.end, clinician_id=slot.clinician_id, patient_id=patient_id)
        return slot

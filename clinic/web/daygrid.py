"""The day view's grid: clinicians as columns, slot rows down the day. Pure, no database.

Rows are local wall-clock times of the location, `slot_minutes` apart, from the
earliest working hour (or session) to the latest. A session sits in the row its
local start falls in, so an off-grid booking (allowed: API.md) still shows.
"""

from dataclasses import dataclass, field
from datetime import date, time
from zoneinfo import ZoneInfo


@dataclass
class Cell:
    working: bool = False
    sessions: list = field(default_factory=list)


@dataclass
class Row:
    at: time
    cells: list[Cell]


@dataclass
class DayGrid:
    day: date
    columns: list  # clinicians
    rows: list[Row]

    @property
    def is_empty(self) -> bool:
        return not self.rows


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def build_day_grid(
    *,
    day: date,
    tz: ZoneInfo,
    clinicians: list,
    hours: list[tuple[object, time, time]],
    sessions: list,
    slot_minutes: int,
) -> DayGrid:
    """`hours` are (clinician_id, start_time, end_time) for the day's weekday; sessions have .start/.end/.clinician."""
    columns = list(clinicians)
    known = {c.id for c in columns}
    for session in sessions:
        if session.clinician_id not in known:
            columns.append(session.clinician)
            known.add(session.clinician_id)
    index = {c.id: i for i, c in enumerate(columns)}

    local_starts = [(s, s.start.astimezone(tz)) for s in sessions]
    marks = [_minutes(start) for _, start, _ in hours] + [_minutes(end) for _, _, end in hours]
    for session, start in local_starts:
        end = session.end.astimezone(tz)
        marks.append(_minutes(start.time()))
        marks.append(_minutes(end.time()) if end.date() == day else 24 * 60)
    if not marks:
        return DayGrid(day, columns, [])
    step = max(slot_minutes, 5)
    first = min(marks) // step * step
    last = max(marks)
    rows: list[Row] = []
    by_minute: dict[int, Row] = {}
    minute = first
    while minute < last:
        at = time(minute // 60, minute % 60)
        cells = []
        for clinician in columns:
            working = any(
                cid == clinician.id and _minutes(h_start) <= minute and minute + step <= _minutes(h_end)
                for cid, h_start, h_end in hours
            )
            cells.append(Cell(working=working))
        row = Row(at, cells)
        rows.append(row)
        by_minute[minute] = row
        minute += step
    for session, start in local_starts:
        slot = (_minutes(start.time()) - first) // step * step + first
        row = by_minute.get(slot)
        if row is not None:
            row.cells[index[session.clinician_id]].sessions.append(session)
    return DayGrid(day, columns, rows)

"""The calendar grids: a day (clinicians as columns, slot rows down the day) and a week (clinicians as
columns, a row per day). Pure, no database.

Day rows are local wall-clock times of the location, `slot_minutes` apart, from the
earliest working hour (or session) to the latest. A session sits in the row its local
start falls in, so an off-grid booking (allowed: API.md) still shows. A free slot (from
the scheduling slot search, so busy-elsewhere and time off are already out) makes its
cell bookable.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo


@dataclass
class Cell:
    clinician: object = None
    working: bool = False
    sessions: list = field(default_factory=list)
    free: datetime | None = None  # the start of a free slot in this cell: click to book
    away: bool = False  # time off


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


def _columns(clinicians: list, sessions: list) -> list:
    columns = list(clinicians)
    known = {c.id for c in columns}
    for session in sessions:
        if session.clinician_id not in known:
            columns.append(session.clinician)
            known.add(session.clinician_id)
    return columns


def build_day_grid(
    *,
    day: date,
    tz: ZoneInfo,
    clinicians: list,
    hours: list[tuple[object, time, time]],
    sessions: list,
    slot_minutes: int,
    free: list[tuple[object, datetime]] = (),
    time_off: list[tuple[object, datetime, datetime]] = (),
) -> DayGrid:
    """`hours` are (clinician_id, start_time, end_time) for the day's weekday; sessions have .start/.end/.clinician;
    `free` are (clinician_id, start) of free slots; `time_off` (clinician_id, start, end)."""
    columns = _columns(clinicians, sessions)
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
            cells.append(Cell(clinician=clinician, working=working))
        row = Row(at, cells)
        rows.append(row)
        by_minute[minute] = row
        minute += step

    def row_of(local: datetime) -> Row | None:
        return by_minute.get((_minutes(local.time()) - first) // step * step + first)

    for session, start in local_starts:
        row = row_of(start)
        if row is not None:
            row.cells[index[session.clinician_id]].sessions.append(session)
    for clinician_id, start in free:
        local = start.astimezone(tz)
        row = row_of(local)
        if row is not None and local.date() == day and clinician_id in index:
            cell = row.cells[index[clinician_id]]
            if not cell.sessions and cell.free is None:
                cell.free = start
    for clinician_id, off_start, off_end in time_off:
        if clinician_id not in index:
            continue
        for row in rows:
            at = datetime.combine(day, row.at, tzinfo=tz)
            if off_start <= at < off_end:
                row.cells[index[clinician_id]].away = True
    return DayGrid(day, columns, rows)


@dataclass
class WeekCell:
    clinician: object = None
    working: bool = False
    sessions: list = field(default_factory=list)
    free: int = 0  # free slots that day


@dataclass
class WeekRow:
    day: date
    cells: list[WeekCell]


@dataclass
class WeekGrid:
    days: list[date]
    columns: list
    rows: list[WeekRow]


def build_week_grid(
    *,
    days: list[date],
    tz: ZoneInfo,
    clinicians: list,
    hours: list[tuple[object, int, time, time]],
    sessions: list,
    free: list[tuple[object, datetime]] = (),
) -> WeekGrid:
    """`hours` are (clinician_id, weekday, start_time, end_time); a row per day, a column per clinician."""
    columns = _columns(clinicians, sessions)
    index = {c.id: i for i, c in enumerate(columns)}
    works = {(cid, weekday) for cid, weekday, _, _ in hours}
    rows = [
        WeekRow(day, [WeekCell(clinician=c, working=(c.id, day.weekday()) in works) for c in columns]) for day in days
    ]
    by_day = {row.day: row for row in rows}
    for session in sessions:
        row = by_day.get(session.start.astimezone(tz).date())
        if row is not None:
            row.cells[index[session.clinician_id]].sessions.append(session)
    for clinician_id, start in free:
        row = by_day.get(start.astimezone(tz).date())
        if row is not None and clinician_id in index:
            row.cells[index[clinician_id]].free += 1
    return WeekGrid(days, columns, rows)

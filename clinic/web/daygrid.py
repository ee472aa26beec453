"""The calendar grids: a day (clinicians as columns, slot rows down the day) and a week (clinicians as
columns, a row per day), and their cells' markup. Pure, no database.

Day rows are local wall-clock times of the location, `slot_minutes` apart, from the
earliest working hour (or session) to the latest. A session sits in the row its local
start falls in, so an off-grid booking (allowed: API.md) still shows. A free slot (from
the scheduling slot search, so busy-elsewhere and time off are already out) makes its
cell bookable.
"""

import html
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils.safestring import mark_safe

from clinic.web.display import day_text
from clinic.web.labels import label
from patients.contact import format_phone


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
    spans: dict[object, list[tuple[int, int]]] = {}
    for cid, h_start, h_end in hours:
        spans.setdefault(cid, []).append((_minutes(h_start), _minutes(h_end)))
    rows: list[Row] = []
    by_minute: dict[int, Row] = {}
    minute = first
    while minute < last:
        at = time(minute // 60, minute % 60)
        cells = []
        for clinician in columns:
            working = any(
                h_start <= minute and minute + step <= h_end for h_start, h_end in spans.get(clinician.id, ())
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


# --- markup ---------------------------------------------------------------------------------------
# The day view shows every session with its buttons and the week view every session of the week: at a
# busy location that is thousands of cells, and the template engine costs tens of microseconds per
# variable, include and {% url %}. So the cells are written here, once per page, with plain string
# formatting: the URLs are reversed once per page (a placeholder id replaced per session), times are
# converted once per time, every value is escaped as the template would. The markup is the templates'
# (templates/web/_day_grid.html, _week_grid.html and _session_actions.html describe it), but for the
# check-in and no-show buttons, which post one form of the page (`ACTIONS_FORM`).

_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Markup:
    """What the cells' markup needs from the request and the location: worked out once per page."""

    zone: ZoneInfo
    location_id: str
    here: str  # where the buttons return to
    is_clinician: bool
    urls: dict  # name -> URL with _ID where the session's or patient's id goes
    back_query: str = ""  # `?next=` of every link of the page, escaped once

    @classmethod
    def for_page(cls, *, location, here: str, is_clinician: bool) -> "Markup":
        urls = {
            "patient": reverse("web:patient", args=[_ID]),
            "check_in": reverse("web:session_action", args=[_ID, "check-in"]),
            "no_show": reverse("web:session_action", args=[_ID, "no-show"]),
            "reschedule": reverse("web:reschedule", args=[_ID]),
            "complete": reverse("web:complete", args=[_ID]),
            "cancel": reverse("web:session_cancel", args=[_ID]),
            "slot_book": reverse("web:slot_book"),
            "day": reverse("web:day"),
        }
        return cls(
            zone=location.zone,
            location_id=str(location.id),
            here=here,
            is_clinician=is_clinician,
            urls={name: escape(url) for name, url in urls.items()},
            back_query=escape(quote(here, safe="/")),
        )

    def url(self, name: str, pk) -> str:
        return self.urls[name].replace(_ID, str(pk))


def escape(value) -> str:
    """What the template's autoescape writes (django.utils.html.escape is html.escape of str(value)), without
    its lazy-string wrapper: thousands of calls a page."""
    return html.escape(str(value))


@lru_cache(maxsize=4096)
def _clock(instant: datetime, zone: ZoneInfo) -> str:
    """`HH:MM` in `zone`; a day's sessions share a few dozen start and end times, each converted once."""
    return f"{instant.astimezone(zone):%H:%M}"


@lru_cache(maxsize=256)
def _label(code: str) -> str:
    """`label(code)` escaped: a few kinds and statuses, thousands of cells."""
    return escape(label(code))


@lru_cache(maxsize=65536)
def _phone(e164: str, region: str) -> str:
    """The patient's phone for reading (`format_phone`), parsed once per number and phone region."""
    return format_phone(e164)


# The check-in and no-show buttons post the grid's one form (templates/web/_day_grid.html: the CSRF token and
# `next`, the page itself), each to its own URL: the same request as a form per button, without repeating the
# token and the page's address in hundreds of forms (about a sixth of a busy day's markup).
ACTIONS_FORM = "calendar-actions"


def _actions(s, name: str, m: Markup) -> str:
    """The buttons of templates/web/_session_actions.html, with `back` the page itself; `name` is the patient's,
    escaped."""
    can = s.can
    sid = str(s.id)
    back_q = m.back_query
    out = ['<div class="actions">']
    if can["check_in"]:
        out.append(
            f'<button type="submit" form="{ACTIONS_FORM}" formaction="{m.url("check_in", sid)}" class="small" '
            f'aria-label="Check in {name}">Check in</button>'
        )
    if can["no_show"]:
        out.append(
            f'<button type="submit" form="{ACTIONS_FORM}" formaction="{m.url("no_show", sid)}" '
            f'class="small secondary" aria-label="Mark {name} as a no-show">No-show</button>'
        )
    if can["reschedule"]:
        out.append(
            f'<a role="button" class="small secondary outline" href="{m.url("reschedule", sid)}?next={back_q}" '
            f'aria-label="Move {name}’s session">Move</a>'
        )
    if can["complete"] and m.is_clinician:
        what = "treatment" if s.kind == "treatment" else "visit"
        out.append(f'<a role="button" class="small" href="{m.url("complete", sid)}">Record {what}</a>')
    if can["cancel"]:
        out.append(
            f'<a role="button" class="small outline danger" href="{m.url("cancel", sid)}?next={back_q}" '
            f'aria-label="Cancel {name}’s session">Cancel</a>'
        )
    out.append("</div>")
    return "\n".join(out)


def day_cell_html(cell: Cell, m: Markup) -> str:
    """One <td> of the day grid: its sessions (`DaySession`s) with their buttons, the free slot to book, or time
    off."""
    css = "away" if cell.away else ("off" if not cell.working and not cell.sessions else "")
    out = [f'<td class="{css}">' if css else "<td>"]
    zone = m.zone
    for s in cell.sessions:
        status = escape(s.status)
        name = escape(s.patient_name)
        out.append(
            f'<div class="appt {status}" data-session="{s.id}">\n'
            f'<a class="who" href="{m.url("patient", s.patient_id)}">{name}</a>\n'
            f'<div class="muted">{_clock(s.start, zone)}–{_clock(s.end, zone)} · {_label(s.kind)}</div>\n'
            f'<span class="badge {status}">{_label(s.status)}</span>\n'
            f"{_actions(s, name, m)}\n</div>"
        )
    if cell.free:
        at = _clock(cell.free, zone)
        link = (
            f"{m.urls['slot_book']}?location={m.location_id}&amp;clinician={cell.clinician.id}"
            f"&amp;start={escape(quote(cell.free.isoformat(), safe='/'))}&amp;next={m.back_query}"
        )
        out.append(
            f'<a class="free" href="{link}"\n hx-get="{link}"\n hx-target="#book-dialog-body" hx-swap="innerHTML"\n'
            f' aria-label="Book {at} with {escape(cell.clinician.name)}">+ {at}</a>'
        )
    elif cell.away and not cell.sessions:
        out.append('<span class="muted">Time off</span>')
    out.append("</td>")
    return mark_safe("\n".join(out))  # noqa: S308  (every value above is escaped)


def day_rows_html(grid: DayGrid, m: Markup) -> list[tuple[time, str]]:
    """(row time, the row's cells as markup) for the day grid's rows."""
    return [(row.at, mark_safe("\n".join(day_cell_html(c, m) for c in row.cells))) for row in grid.rows]  # noqa: S308


def print_rows_html(sessions: list, m: Markup) -> str:
    """The rows of the printed day list: time, patient, MRN, phone, clinician, kind, status."""
    region = settings.DEFAULT_PHONE_REGION
    rows = [
        f"<tr><td>{_clock(s.start, m.zone)}–{_clock(s.end, m.zone)}</td>"
        f"<td>{escape(s.family_name)}, {escape(s.given_name)}</td><td>{escape(s.mrn)}</td>"
        f"<td>{escape(_phone(s.phone, region))}</td><td>{escape(s.clinician.name)}</td>"
        f"<td>{_label(s.kind)}</td><td>{_label(s.status)}</td></tr>"
        for s in sessions
    ]
    return mark_safe("\n".join(rows))  # noqa: S308  (every value above is escaped)


def week_cell_html(cell: WeekCell, day: date, today: date, m: Markup) -> str:
    """One <td> of the week grid: the day's sessions (`week_list_html`) and a link to the day for its free slots."""
    css = "week-cell"
    if not cell.working and not cell.sessions:
        css += " off"
    if day == today:
        css += " today-row"
    out = [f'<td class="{css}">', week_list_html(cell, m)]
    if cell.free:
        slots = "slot" if cell.free == 1 else "slots"
        out.append(
            f'<a class="free" href="{m.urls["day"]}?location={m.location_id}&amp;date={day.isoformat()}" '
            f'aria-label="{cell.free} free {slots} with {escape(cell.clinician.name)} on {day_text(day)}">'
            f"{cell.free} free</a>"
        )
    out.append("</td>")
    return "\n".join(out)


def week_rows_html(grid: WeekGrid, today: date, m: Markup) -> list[tuple[date, str]]:
    """(day, the row's cells as markup) for the week grid's rows."""
    return [
        (row.day, mark_safe("\n".join(week_cell_html(c, row.day, today, m) for c in row.cells)))  # noqa: S308
        for row in grid.rows
    ]


def week_list_html(cell: WeekCell, m: Markup) -> str:
    """The <ul> of a week cell's sessions (`WeekSession`s): start, patient, and the status unless booked."""
    if not cell.sessions:
        return ""
    items = []
    for s in cell.sessions:
        status = escape(s.status)
        badge = "" if s.status == "booked" else f' <span class="badge {status}">{_label(s.status)}</span>'
        items.append(
            f'<li class="{status}" data-session="{s.id}">{_clock(s.start, m.zone)} '
            f'<a href="{m.url("patient", s.patient_id)}">{escape(s.patient_name)}</a>{badge}</li>'
        )
    return mark_safe("<ul>\n" + "\n".join(items) + "\n</ul>")  # noqa: S308  (every value above is escaped)

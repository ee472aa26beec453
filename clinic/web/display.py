"""How the web UI writes times, dates, phones and review flags: one format each.

Times are shown in the zone of the place they happen (a session's location), as
`Tue 1 Dec 2026, 09:00`; dates as `Tue 1 Dec 2026`. Review flags read as one
sentence with the numbers behind them, never as the stored details.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from clinic.web.labels import label


def day_text(value: date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = _as_date(value)
        if value is None:
            return ""
    return f"{value:%a} {value.day} {value:%b %Y}"


def when_text(instant: datetime | None, zone) -> str:
    """`Tue 1 Dec 2026, 09:00` in `zone` (a ZoneInfo or an IANA name)."""
    if instant is None:
        return ""
    local = instant.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone)))
    return f"{day_text(local.date())}, {local:%H:%M}"


def time_text(instant: datetime | None, zone) -> str:
    if instant is None:
        return ""
    return f"{instant.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone))):%H:%M}"


def _as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _number(value) -> str:
    """One decimal place, as the response page shows rates: 21.2, 22.0."""
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "—"


def flag_sentence(flag) -> str:
    """What a clinician needs to decide, as one sentence with the numbers (the flag's details)."""
    details = flag.details if isinstance(flag.details, dict) else {}
    cycle = flag.cycle
    kind = flag.kind
    if kind == "no_benefit":
        rate = details.get("cycle_headache_days_per_28", details.get("headache_days_per_28"))
        baseline, reduction = _number(details.get("baseline")), _number(details.get("reduction_pct"))
        text = (
            f"Cycle {cycle}: {_number(rate)} headache days per 28 vs baseline {baseline}, "
            f"a {reduction} % reduction; benefit needs {details.get('threshold_pct', 30)} %."
        )
        if details.get("diary_days"):
            text += f" Based on {details['diary_days']} diary days."
        return text
    if kind == "missing_response_data":
        treated, upcoming = day_text(details.get("treated_on")), day_text(details.get("next_treatment"))
        days = details.get("days_away")
        away = ""
        if isinstance(days, int):
            away = {0: ", today", 1: ", tomorrow"}.get(days, f", in {days} days" if days > 1 else "")
        return (
            f"Cycle {cycle}: no diary since the treatment on {treated}; the next treatment is on {upcoming}{away}. "
            "Ask the patient for their diary."
        )
    if kind == "episodic_conversion":
        periods = details.get("periods") or []
        rates = ", ".join(_number(p.get("headache_days_per_28")) for p in periods if isinstance(p, dict))
        limit = details.get("max_headache_days_per_28", 15)
        span = ""
        if periods and isinstance(periods[0], dict) and isinstance(periods[-1], dict):
            span = f" ({day_text(periods[0].get('start'))} to {day_text(periods[-1].get('end'))})"
        return (
            f"The last {len(periods)} diary periods{span} were all below {limit} headache days per 28 "
            f"({rates}): the migraine may have become episodic; consider a pause."
        )
    if kind == "adverse_event":
        events = [e for e in details.get("events") or [] if isinstance(e, dict)]
        if not events and details.get("kind"):
            events = [{"kind": details.get("kind"), "severity": details.get("severity")}]
        listed = "; ".join(f"{label(e.get('kind'))}, {label(e.get('severity')).lower()}" for e in events)
        return f"Cycle {cycle}: {listed or 'an adverse event'} reported; this needs a clinician's review today."
    if kind == "overdue":
        return (
            f"Last treatment on {day_text(details.get('last_treatment'))}; the next was due by "
            f"{day_text(details.get('due_by'))} and nothing is booked."
        )
    if kind == "auto_booking_failed":
        return (
            f"No free slot between {day_text(details.get('due_from'))} and {day_text(details.get('due_by'))} "
            f"for cycle {cycle + 1 if isinstance(cycle, int) else ''}: book the next treatment by hand."
        )
    if kind == "medication_overuse":
        days = details.get("acute_medication_days_per_28")
        limit = details.get("overuse_acute_days", 10)
        return f"Acute medication on {_number(days)} days per 28 over the latest 84 days (limit {limit})."
    return f"{label(kind)} for cycle {cycle}."

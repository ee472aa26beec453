"""The reauthorisation packet a payer asks for, and the letter to the referring clinician (API.md, Prior
authorisation): the course's numbers as data (`reauthorization_packet`), then as PDF with ReportLab
(`packet_pdf`, `letter_pdf`).

The packet holds the clinic, the patient (name, MRN, date of birth), the diagnosis code (ICD-10-CM),
the protocol, the baseline and every cycle (dates, units, rates, reduction, final or not), each
treatment with its claim lines, HIT-6 and MIDAS at baseline and latest, the outcome against the
protocol's threshold, the course's authorisations and the next due window. The wording of the PDFs
lives in templates (`cycles/templates/cycles/`): paragraphs separated by blank lines, in ReportLab's
inline markup (<b>, <i>, <br/>), escaped by Django.

The PDFs use ReportLab's built-in Helvetica (Latin-1): names outside it print as boxes.
"""

from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from clinic.timezones import local_date
from cycles import authorizations, selectors
from cycles.models import Course, TreatmentRecord
from cycles.rules import due_dates, human_date
from patients import response
from patients.models import DiaryEntry
from scheduling.models import Session

METRIC_NAMES = {"headache_days": "headache days", "migraine_days": "migraine days"}


# --- the content ------------------------------------------------------------------------------------


def _scores(entries: list[DiaryEntry], field: str, first_treated_on: date | None, window_days: int) -> dict:
    """A questionnaire score (HIT-6 or MIDAS) at baseline, the latest recorded before the first treatment
    inside the baseline window, and the latest recorded since the first treatment."""
    scored = [e for e in entries if getattr(e, field) is not None]
    if first_treated_on is None:
        before, since = scored, []
    else:
        window_start = first_treated_on - timedelta(days=window_days)
        before = [e for e in scored if e.period_start < first_treated_on and e.period_end >= window_start]
        since = [e for e in scored if e.period_start >= first_treated_on]
    baseline = max(before, key=lambda e: e.period_end, default=None)
    latest = max(since, key=lambda e: e.period_end, default=None)
    return {
        "baseline": getattr(baseline, field) if baseline else None,
        "baseline_on": baseline.period_end if baseline else None,
        "latest": getattr(latest, field) if latest else None,
        "latest_on": latest.period_end if latest else None,
    }


def _outcome(history: response.ResponseHistory) -> dict:
    """The latest cycle with enough diary to judge (a final one first): its rate on the protocol's metric
    against the baseline's, and whether the reduction meets the threshold (None: nothing to judge yet)."""
    metric = history.metric
    judged = [c for c in history.cycles if c.assessment != response.Assessment.INSUFFICIENT_DATA]
    cycle = max((c for c in judged if c.final), key=lambda c: c.cycle, default=None) or max(
        judged, key=lambda c: c.cycle, default=None
    )
    return {
        "metric": str(metric),
        "baseline_per_28": history.baseline.per_28(metric),
        "latest_per_28": cycle.rate.per_28(metric) if cycle else None,
        "reduction_pct": cycle.reduction_pct if cycle else None,
        "threshold_pct": history.threshold_pct,
        "meets_threshold": (cycle.reduction_pct >= history.threshold_pct) if cycle else None,
        "cycle": cycle.cycle if cycle else None,
        "final": cycle.final if cycle else None,
    }


def reauthorization_packet(*, course: Course, now: datetime | None = None) -> dict:
    """The packet's content for one course (patient and protocol loaded). Six queries whatever the history:
    diary for the response, the course's treatments, their records, the diary's scores, its
    authorisations and their treatments, the treatment booked next."""
    now = now or timezone.now()
    patient, protocol = course.patient, course.protocol
    today = local_date(now, ZoneInfo(patient.time_zone))
    history = selectors.response_for_patient(patient=patient, course=course)
    records = list(
        TreatmentRecord.objects.filter(session__course=course, session__status=Session.Status.COMPLETED)
        .select_related("session__location")
        .order_by("session__start", "session_id")
    )
    units = {r.session_id: r.total_units for r in records}
    entries = list(DiaryEntry.objects.filter(patient=patient).order_by("period_start"))
    first = history.cycles[0].treated_on if history.cycles else None
    anchor = first or today + timedelta(days=1)
    booked = (
        Session.objects.filter(selectors.UPCOMING_TREATMENT, course=course)
        .select_related("location")
        .order_by("start")
        .first()
    )
    due_from = due_by = None
    if history.cycles:
        due_from, due_by = due_dates(history.cycles[-1].treated_on, protocol)
    approvals = authorizations.with_usage(authorizations.authorization_list(course=course), now=now)
    return {
        "clinic": {"name": settings.CLINIC_NAME, "address": settings.CLINIC_ADDRESS},
        "generated_on": today,
        "patient": {
            "id": patient.pk,
            "mrn": patient.mrn,
            "given_name": patient.given_name,
            "family_name": patient.family_name,
            "name": patient.full_name,
            "date_of_birth": patient.date_of_birth,
        },
        "course": {
            "id": course.pk,
            "status": course.status,
            "started_on": first,
            "cycles_completed": len(history.cycles),
            "referring_clinician": course.referring_clinician,
        },
        "protocol": {
            "id": protocol.pk,
            "name": protocol.name,
            "response_metric": protocol.response_metric,
            "response_threshold_pct": protocol.response_threshold_pct,
            "requires_authorization": protocol.requires_authorization,
        },
        "diagnosis_code": course.diagnosis_code,
        "baseline": {
            "headache_days_per_28": history.baseline.headache_days_per_28,
            "migraine_days_per_28": history.baseline.migraine_days_per_28,
            "diary_days": history.baseline.diary_days,
            "window_from": anchor - timedelta(days=protocol.baseline_window_days),
            "window_to": anchor - timedelta(days=1),
        },
        "cycles": [
            {
                "cycle": c.cycle,
                "session": c.session_id,
                "treated_on": c.treated_on,
                "window_end": c.window_end,
                "total_units": units.get(c.session_id),
                "headache_days_per_28": c.rate.headache_days_per_28,
                "migraine_days_per_28": c.rate.migraine_days_per_28,
                "diary_days": c.rate.diary_days,
                "reduction_pct": c.reduction_pct,
                "assessment": str(c.assessment),
                "final": c.final,
            }
            for c in history.cycles
        ],
        "treatments": [
            {
                "session": r.session_id,
                "treated_on": local_date(r.session.start, r.session.location.zone),
                "total_units": r.total_units,
                "sites": r.sites,
                "units_wasted": r.units_wasted,
                "lot_number": r.lot_number,
                "billing": r.billing,
            }
            for r in records
        ],
        "outcome": _outcome(history),
        "hit6": _scores(entries, "hit6", first, protocol.baseline_window_days),
        "midas": _scores(entries, "midas", first, protocol.baseline_window_days),
        "authorizations": [
            {
                "id": a.pk,
                "payer": a.payer,
                "reference": a.reference,
                "status": a.status,
                "treatments_approved": a.treatments_approved,
                "units_approved": a.units_approved,
                "valid_from": a.valid_from,
                "valid_to": a.valid_to,
                "treatments_used": a.treatments_used,
                "treatments_left": a.treatments_left,
            }
            for a in approvals
        ],
        "next_due": {
            "due_from": due_from,
            "due_by": due_by,
            "booked_on": local_date(booked.start, booked.location.zone) if booked else None,
        },
    }


# --- as PDF -------------------------------------------------------------------------------------------


def _num(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{suffix}"


def _day(value: date | None) -> str:
    return human_date(value) if value else "—"


def _styles() -> dict:
    sheet = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=sheet["Title"], fontSize=15, leading=19, alignment=0),
        "h2": ParagraphStyle("h2", parent=sheet["Heading2"], fontSize=11.5, leading=15, spaceBefore=8),
        "body": ParagraphStyle("body", parent=sheet["BodyText"], fontSize=9.5, leading=13),
        "small": ParagraphStyle("small", parent=sheet["BodyText"], fontSize=8, leading=10, textColor=colors.grey),
        "cell": ParagraphStyle("cell", parent=sheet["BodyText"], fontSize=8.5, leading=10.5),
    }


def _table(rows: list[list], widths: list[float] | None = None, header: bool = True) -> Table:
    styles = _styles()
    cells = [[Paragraph(str(cell), styles["cell"]) for cell in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8c2cc")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef3")))
    table.setStyle(TableStyle(commands))
    return table


def _paragraphs(template: str, context: dict) -> list[Paragraph]:
    """A template's paragraphs (separated by blank lines) as flowables."""
    styles = _styles()
    text = render_to_string(template, context)
    blocks = [" ".join(block.split()) for block in text.split("\n\n")]
    return [Paragraph(block, styles["body"]) for block in blocks if block]


def _page_size():
    # US payers read US Letter; everyone else A4.
    return LETTER if settings.DEFAULT_PHONE_REGION == "US" else A4


def _build(flowables: list, *, title: str, footer: str) -> bytes:
    buffer = BytesIO()

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(doc.leftMargin, 10 * mm, f"{footer} · page {doc.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=_page_size(),
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=settings.CLINIC_NAME,
        creator="CycleDesk",
    )
    document.build(flowables, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _context(packet: dict, **extra) -> dict:
    metric = packet["outcome"]["metric"]
    return {**packet, "metric_name": METRIC_NAMES.get(metric, metric), **extra}


def _letterhead(packet: dict) -> list:
    styles = _styles()
    clinic = packet["clinic"]
    lines = [Paragraph(f"<b>{_escape(clinic['name'])}</b>", styles["body"])]
    if clinic["address"]:
        lines.append(Paragraph(_escape(clinic["address"]), styles["body"]))
    return lines


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _patient_table(packet: dict) -> Table:
    patient, course = packet["patient"], packet["course"]
    return _table(
        [
            ["Patient", _escape(patient["name"]), "MRN", _escape(patient["mrn"])],
            ["Date of birth", _day(patient["date_of_birth"]), "Diagnosis (ICD-10-CM)", packet["diagnosis_code"]],
            ["Protocol", _escape(packet["protocol"]["name"]), "Treatments given", str(course["cycles_completed"])],
            [
                "Referring clinician",
                _escape(course["referring_clinician"] or "—"),
                "Course started",
                _day(course["started_on"]),
            ],
        ],
        widths=[32 * mm, 55 * mm, 38 * mm, 49 * mm],
        header=False,
    )


def _cycles_table(packet: dict) -> Table:
    baseline = packet["baseline"]
    rows = [["", "Dates", "Units", "Headache days / 28", "Migraine days / 28", "Diary days", "Reduction", "Judged"]]
    rows.append(
        [
            "Baseline",
            f"{_day(baseline['window_from'])} to {_day(baseline['window_to'])}",
            "—",
            _num(baseline["headache_days_per_28"]),
            _num(baseline["migraine_days_per_28"]),
            str(baseline["diary_days"]),
            "—",
            "—",
        ]
    )
    for c in packet["cycles"]:
        rows.append(
            [
                f"Cycle {c['cycle']}",
                f"{_day(c['treated_on'])} to {_day(c['window_end'])}",
                "—" if c["total_units"] is None else f"{c['total_units']} U",
                _num(c["headache_days_per_28"]),
                _num(c["migraine_days_per_28"]),
                str(c["diary_days"]),
                _num(c["reduction_pct"], "%"),
                f"{c['assessment'].replace('_', ' ')}{'' if c['final'] else ' (not final)'}",
            ]
        )
    return _table(rows, widths=[17 * mm, 44 * mm, 13 * mm, 20 * mm, 20 * mm, 14 * mm, 18 * mm, 28 * mm])


def _scores_table(packet: dict) -> Table:
    rows = [["Score", "Baseline", "Latest"]]
    for name, key in (("HIT-6", "hit6"), ("MIDAS", "midas")):
        score = packet[key]
        rows.append(
            [
                name,
                "—" if score["baseline"] is None else f"{score['baseline']} ({_day(score['baseline_on'])})",
                "—" if score["latest"] is None else f"{score['latest']} ({_day(score['latest_on'])})",
            ]
        )
    return _table(rows, widths=[25 * mm, 60 * mm, 60 * mm])


def _claim(line: dict) -> str:
    code = line["code"] + (f"-{line['modifier']}" if line.get("modifier") else "")
    return code + (f" × {line['units']}" if "units" in line else "")


def packet_pdf(packet: dict) -> bytes:
    """The reauthorisation packet as PDF: every figure of `reauthorization_packet`."""
    styles = _styles()
    patient = packet["patient"]
    flow = [
        *_letterhead(packet),
        Spacer(1, 4 * mm),
        Paragraph("Prior authorisation renewal: onabotulinumtoxinA for chronic migraine", styles["title"]),
        Paragraph(f"Prepared {_day(packet['generated_on'])}", styles["small"]),
        Spacer(1, 3 * mm),
        _patient_table(packet),
        Paragraph("Response to treatment", styles["h2"]),
        *_paragraphs("cycles/reauthorization_summary.html", _context(packet)),
        Spacer(1, 2 * mm),
        _cycles_table(packet),
        Paragraph("HIT-6 and MIDAS", styles["h2"]),
        _scores_table(packet),
        Paragraph("Treatments given", styles["h2"]),
    ]
    if packet["treatments"]:
        rows = [["Date", "Units", "Sites", "Wasted", "Lot", "Claim lines"]]
        for t in packet["treatments"]:
            rows.append(
                [
                    _day(t["treated_on"]),
                    f"{t['total_units']} U",
                    str(t["sites"]),
                    f"{t['units_wasted']} U",
                    _escape(t["lot_number"]),
                    ", ".join(_claim(line) for line in t["billing"]),
                ]
            )
        flow.append(_table(rows, widths=[28 * mm, 16 * mm, 13 * mm, 16 * mm, 28 * mm, 73 * mm]))
    else:
        flow.append(Paragraph("None yet.", styles["body"]))
    flow.append(Paragraph("Authorisations", styles["h2"]))
    if packet["authorizations"]:
        rows = [["Payer", "Reference", "Status", "Valid", "Treatments", "Units"]]
        for a in packet["authorizations"]:
            rows.append(
                [
                    _escape(a["payer"]),
                    _escape(a["reference"] or "—"),
                    a["status"],
                    f"{_day(a['valid_from'])} to {_day(a['valid_to'])}",
                    f"{a['treatments_used']} of {a['treatments_approved']} used, {a['treatments_left']} left",
                    "—" if a["units_approved"] is None else f"{a['units_approved']} U",
                ]
            )
        flow.append(_table(rows, widths=[30 * mm, 26 * mm, 18 * mm, 50 * mm, 32 * mm, 18 * mm]))
    else:
        flow.append(Paragraph("None recorded.", styles["body"]))
    flow += [Paragraph("Next treatment", styles["h2"]), *_paragraphs("cycles/next_due.html", _context(packet))]
    footer = f"{packet['clinic']['name']} · {patient['name']} · MRN {patient['mrn']} · confidential"
    return _build(flow, title=f"Reauthorisation: {patient['name']} ({patient['mrn']})", footer=footer)


def letter_pdf(packet: dict, *, signed_by: str) -> bytes:
    """The letter to the referring clinician: the same figures and the next due window."""
    patient = packet["patient"]
    context = _context(packet, signed_by=signed_by)
    flow = [
        *_letterhead(packet),
        Spacer(1, 6 * mm),
        *_paragraphs("cycles/letter.html", context),
        Spacer(1, 2 * mm),
        _cycles_table(packet),
        Spacer(1, 3 * mm),
        _scores_table(packet),
        Spacer(1, 3 * mm),
        *_paragraphs("cycles/next_due.html", context),
        Spacer(1, 3 * mm),
        *_paragraphs("cycles/letter_closing.html", context),
    ]
    footer = f"{packet['clinic']['name']} · {patient['name']} · MRN {patient['mrn']} · confidential"
    return _build(flow, title=f"Letter: {patient['name']} ({patient['mrn']})", footer=footer)

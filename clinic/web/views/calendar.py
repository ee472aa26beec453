"""The front desk's calendar: day and week views per location, live refresh, booking from an empty slot."""

import uuid
from datetime import datetime, timedelta

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic import inputs
from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.roles import is_clinician
from clinic.timezones import day_bounds, today_in
from clinic.web import selectors as web_selectors
from clinic.web.access import staff_required
from clinic.web.daygrid import (
    Markup,
    build_day_grid,
    build_week_grid,
    day_rows_html,
    print_rows_html,
    week_rows_html,
)
from clinic.web.display import when_text
from clinic.web.forms import CalendarBookForm, apply_domain_error, parse_day
from clinic.web.labels import label
from clinic.web.views.common import Action, back, chosen_location, remember_location, session_actions
from cycles import selectors as cycle_selectors
from patients import selectors as patient_selectors
from scheduling import selectors as scheduling_selectors
from scheduling import services
from scheduling.models import Session

POLL_SECONDS = 15
SEARCH_LIMIT = 8


def _annotate(sessions: list[web_selectors.DaySession], now: datetime) -> None:
    """Each session's buttons (`s.can`). The lifecycle's rule is asked once per state (`action_state`: a few a
    day), of the first session in that state; the others in it get the same answers."""
    answers: dict[tuple, dict] = {}
    for s in sessions:
        state = services.action_state(s, now)
        if state not in answers:
            session = Session(id=s.id, kind=s.kind, status=s.status, start=s.start, end=s.end, location=s.location)
            answers[state] = session_actions(session, now)
        s.can = answers[state]


def _window(day, view: str):
    """The local dates a view shows: the day, or the week (Monday to Sunday) it falls in."""
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    return day, day


def _calendar(request, *, view: str):
    """Shared by the day and the week view. Queries, fixed whatever the number of sessions: locations,
    protocol, clinicians, working hours, sessions with patient and clinician, time off, the free-slot
    search (working hours, time off, active sessions, the session length), one audit INSERT."""
    locations = web_selectors.locations()
    if not locations:
        return render(request, f"web/{view}.html", {"locations": []})
    location = chosen_location(request, locations)
    today = today_in(location.zone)
    day = parse_day(request.GET.get("date")) or today
    first, last = _window(day, view)
    protocol = web_selectors.protocol()
    clinicians = web_selectors.clinicians_at(location=location)
    hours = web_selectors.working_hours_at(location=location)
    now = timezone.now()
    if view == "week":  # no buttons, so no lifecycle rule to ask: plain values
        sessions = web_selectors.week_sessions_between(location=location, first=first, last=last)
    else:
        sessions = web_selectors.sessions_between(location=location, first=first, last=last)
        _annotate(sessions, now)
    start, end = day_bounds(first, location.zone)[0], day_bounds(last, location.zone)[1]
    time_off = web_selectors.time_off_between(clinician_ids=[c.id for c in clinicians], start=start, end=end)
    free = [
        (slot.clinician_id, slot.start)
        for slot in scheduling_selectors.free_slots_for(
            location=location,
            start_date=first,
            end_date=last,
            now=now,
            length=timedelta(minutes=protocol.session_minutes),
        )
    ]
    if view == "week":
        grid = build_week_grid(
            days=[first + timedelta(days=i) for i in range(7)],
            tz=location.zone,
            clinicians=clinicians,
            hours=hours,
            sessions=sessions,
            free=free,
        )
    else:
        grid = build_day_grid(
            day=day,
            tz=location.zone,
            clinicians=clinicians,
            hours=[(cid, s, e) for cid, weekday, s, e in hours if weekday == day.weekday()],
            sessions=sessions,
            slot_minutes=protocol.session_minutes,
            free=free,
            time_off=time_off,
        )
    # The day's freed treatment slots and how their offers stand (counts only: no patient shown).
    freed_slots = cycle_selectors.freed_slots_for_day(location=location, day=day) if view == "day" else []
    audit_record(request=request, action=Action.READ, resource="session", patient_ids=[s.patient_id for s in sessions])
    # The cells are written in Python (daygrid's markup), the page around them by the templates.
    markup = Markup.for_page(
        location=location,
        here=request.get_full_path(),
        is_clinician=is_clinician(request.user),
    )
    if view == "week":
        rows, print_rows = week_rows_html(grid, today, markup), ""
    else:
        rows, print_rows = day_rows_html(grid, markup), print_rows_html(sessions, markup)
    step = timedelta(days=7 if view == "week" else 1)
    context = {
        "freed_slots": freed_slots,
        "locations": locations,
        "location": location,
        "view": view,
        "day": day,
        "first": first,
        "last": last,
        "previous": day - step,
        "following": day + step,
        "today": today,
        "grid": grid,
        "rows": rows,
        "print_rows": print_rows,
        "sessions": sessions,
        "session_count": len(sessions),
        "version": web_selectors.calendar_version(location=location, first=first, last=last),
        "poll_seconds": POLL_SECONDS,
        "is_clinician": is_clinician(request.user),
        "here": request.get_full_path(),
        "patients_url": reverse("web:patient_search"),
    }
    if request.headers.get("HX-Request") and request.GET.get("part") == "grid":
        response = render(request, f"web/_{view}_grid.html", context)
    else:
        response = render(request, f"web/{view}.html", context)
    remember_location(response, request, location)
    return response


@require_GET
@staff_required
def day_view(request):
    return _calendar(request, view="day")


@require_GET
@staff_required
def week_view(request):
    return _calendar(request, view="week")


@require_GET
@staff_required
def calendar_changes(request):
    """Polled by the open calendar: 204 while nothing it shows changed; else an htmx event that reloads the grid."""
    locations = web_selectors.locations()
    location = chosen_location(request, locations)
    if location is None:
        return HttpResponse(status=204)
    day = parse_day(request.GET.get("date")) or today_in(location.zone)
    first, last = _window(day, "week" if request.GET.get("view") == "week" else "day")
    version = web_selectors.calendar_version(location=location, first=first, last=last)
    response = HttpResponse(status=204)
    if version != request.GET.get("v"):
        response["HX-Trigger"] = "calendar-changed"
    return response


def _slot_from(request, locations):
    """The empty slot clicked: location, clinician and start from the query (or the form)."""
    data = request.POST if request.method == "POST" else request.GET
    location = chosen_location(request, locations)
    clinician = web_selectors.clinician(pk=data.get("clinician")) if _is_uuid(data.get("clinician")) else None
    try:
        start = datetime.fromisoformat(data.get("start", ""))
    except ValueError:
        start = None
    if start is not None and (start.tzinfo is None or not 1900 <= start.year <= 2200):
        start = None
    return location, clinician, start


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@staff_required
def slot_book(request):
    """Book the empty slot clicked in the day view: find the patient (htmx search), pick the kind, book.

    Shown in a dialog over the day view, or as a page of its own without JavaScript.
    """
    locations = web_selectors.locations()
    location, clinician, start = _slot_from(request, locations)
    default_back = f"{reverse('web:day')}?location={location.id if location else ''}"
    if location is None or clinician is None or start is None:
        messages.error(request, "Choose an empty slot in the calendar to book it.")
        return redirect(back(request, default_back))
    query = (request.POST.get("q") if request.method == "POST" else request.GET.get("q", "")) or ""
    query = inputs.strip_control_characters(query).strip()
    patients = list(patient_selectors.patient_search(query=query)[:SEARCH_LIMIT]) if query else []
    audit_record(request=request, action=Action.READ, resource="patient", patients=patients)
    if request.headers.get("HX-Request") and request.GET.get("part") == "results":
        return render(request, "web/_slot_patients.html", {"patients": patients, "query": query})
    form = CalendarBookForm(
        request.POST if request.method == "POST" and request.POST.get("patient") else None,
        initial={"clinician": clinician.id, "start": start.isoformat(), "kind": Session.Kind.TREATMENT},
    )
    searching = request.method == "POST" and not request.POST.get("patient")  # Enter in the search box
    if request.method == "POST" and not searching and form.is_valid():
        patient = web_selectors.patient(pk=form.cleaned_data["patient"])
        if patient is None:
            form.add_error("patient", "Choose the patient.")
        else:
            try:
                session = services.session_book(
                    patient=patient,
                    clinician=clinician,
                    location=location,
                    start=start,
                    kind=form.cleaned_data["kind"],
                    booked_by=request.user,
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                audit_record(request=request, action=Action.CREATE, resource="session", obj=session)
                messages.success(
                    request,
                    f"Booked {label(session.kind).lower()} for {patient.full_name} on "
                    f"{when_text(session.start, location.zone)} with {clinician.name}.",
                )
                return redirect(back(request, f"{default_back}&date={start.astimezone(location.zone).date()}"))
    chosen = None
    if form.data.get("patient") and _is_uuid(form.data.get("patient")):
        chosen = web_selectors.patient(pk=form.data["patient"])
        if chosen is not None:
            audit_record(request=request, action=Action.READ, resource="patient", patients=[chosen])
    context = {
        "form": form,
        "location": location,
        "clinician": clinician,
        "start": start,
        "patients": patients,
        "query": query,
        "chosen": chosen,
        "next": back(request, f"{default_back}&date={start.astimezone(location.zone).date()}"),
        "in_dialog": bool(request.headers.get("HX-Request")),
    }
    template = "web/_slot_book.html" if request.headers.get("HX-Request") else "web/slot_book.html"
    return render(request, template, context)

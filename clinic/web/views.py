"""Web UI views: parse input, check the role, call a service or selector, render."""

from datetime import date, timedelta

from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.models import AuditLog
from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK, has_role, is_clinician
from clinic.timezones import today_in
from clinic.web import selectors as web_selectors
from clinic.web.access import clinician_required, staff_required
from clinic.web.daygrid import build_day_grid
from clinic.web.forms import (
    AdverseEventFormSet,
    BookingForm,
    CancelForm,
    ResolveFlagForm,
    SlotPickForm,
    TreatmentForm,
    apply_domain_error,
    slot_value,
)
from cycles import booking, rules, treatments
from cycles import due as due_list
from cycles import selectors as cycle_selectors
from cycles.flags import review_flag_resolve
from cycles.models import Protocol, ReviewFlag
from notifications.selectors import notifications_for_patient
from patients import selectors as patient_selectors
from patients.models import Patient
from scheduling import selectors as scheduling_selectors
from scheduling import services
from scheduling.models import Location, Session

Action = AuditLog.Action
SEARCH_LIMIT = 50
DUE_LIMIT = 200
MAX_WITHIN_DAYS = 366
NEARBY_SLOTS = 8  # offered first, nearest the due target
SLOT_DAYS = 7  # the booking form shows a week of free slots at a time


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _back(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


# --- home -------------------------------------------------------------------------------


@staff_required
def home(request):
    context = {"locations": list(Location.objects.all())}
    if has_role(request.user, CLINICIAN):
        context["open_flag_count"] = ReviewFlag.objects.filter(status=ReviewFlag.Status.OPEN).count()
        clinician = getattr(request.user, "clinician", None)
        if clinician is not None and context["locations"]:
            now = timezone.now()
            context["my_sessions"] = (
                Session.objects.filter(
                    clinician=clinician,
                    start__gte=now - timedelta(hours=12),
                    start__lt=now + timedelta(days=1),
                    status__in=Session.UPCOMING_STATUSES,
                )
                .select_related("patient", "location")
                .order_by("start")
            )
    context["is_front_desk"] = has_role(request.user, FRONT_DESK, CLINIC_ADMIN)
    context["is_clinician"] = has_role(request.user, CLINICIAN)
    context["is_admin"] = has_role(request.user, CLINIC_ADMIN)
    return render(request, "web/home.html", context)


# --- day view -----------------------------------------------------------------------------


@staff_required
def day_view(request):
    # 1 locations
    locations = list(Location.objects.all())
    if not locations:
        return render(request, "web/day.html", {"locations": [], "grid": None})
    location = next((loc for loc in locations if str(loc.id) == request.GET.get("location")), locations[0])
    day = _parse_date(request.GET.get("date")) or today_in(location.zone)
    # 2 protocol, 3 clinicians, 4 working hours, 5 sessions with patient and clinician
    protocol = Protocol.default()
    sessions = list(web_selectors.sessions_for_day(location=location, day=day))
    grid = build_day_grid(
        day=day,
        tz=location.zone,
        clinicians=list(web_selectors.clinicians_at(location=location)),
        hours=list(
            web_selectors.working_hours_for_day(location=location, day=day).values_list(
                "clinician_id", "start_time", "end_time"
            )
        ),
        sessions=sessions,
        slot_minutes=protocol.session_minutes,
    )
    # 6 freed slots with how their offers stand (counts only: no patient shown)
    freed_slots = cycle_selectors.freed_slots_for_day(location=location, day=day)
    # 7 one audit row per patient on the page, in one INSERT
    audit_record(request=request, action=Action.READ, resource="session", patients=[s.patient for s in sessions])
    return render(
        request,
        "web/day.html",
        {
            "locations": locations,
            "location": location,
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "today": today_in(location.zone),
            "grid": grid,
            "session_count": len(sessions),
            "freed_slots": freed_slots,
        },
    )


# --- patients -------------------------------------------------------------------------------


@staff_required
def patient_search(request):
    query = request.GET.get("q", "").strip()
    patients = list(patient_selectors.patient_search(query=query)[:SEARCH_LIMIT]) if query else []
    audit_record(request=request, action=Action.READ, resource="patient", patients=patients)
    template = "web/_patient_results.html" if request.headers.get("HX-Request") else "web/patient_search.html"
    return render(request, template, {"query": query, "patients": patients, "limit": SEARCH_LIMIT})


@staff_required
def patient_detail(request, pk):
    # 1 patient
    patient = get_object_or_404(Patient, pk=pk)
    # 2 sessions with clinician and location
    sessions = list(web_selectors.sessions_for_patient(patient=patient))
    now = timezone.now()
    upcoming = sorted((s for s in sessions if s.status in Session.UPCOMING_STATUSES), key=lambda s: s.start)
    past = [s for s in sessions if s.status not in Session.UPCOMING_STATUSES]
    # 3 notifications
    notifications = list(notifications_for_patient(patient=patient))
    # 4 slot offers with the slot's session, clinician and location
    patient_offers = list(cycle_selectors.slot_offers_for_patient(patient=patient))
    # 5 audit row
    audit_record(request=request, action=Action.READ, resource="patient", patients=[patient])
    return render(
        request,
        "web/patient_detail.html",
        {
            "patient": patient,
            "upcoming": upcoming,
            "past": past,
            "notifications": notifications,
            "patient_offers": patient_offers,
            "now": now,
            "is_clinician": is_clinician(request.user),
            "cancel_form": CancelForm(),
        },
    )


# --- booking ---------------------------------------------------------------------------------


def _slot_window(request, patient: Patient, locations: list[Location], protocol: Protocol):
    """Where and when to look: the location of the last treatment and its due window, unless asked otherwise."""
    last = cycle_selectors.last_completed_treatment(patient=patient)
    target = rules.next_target(last.start, last.location.zone, protocol) if last else None
    chosen = request.GET.get("location") or request.POST.get("location")
    location = next((loc for loc in locations if str(loc.id) == chosen), None)
    location = location or (last.location if last else locations[0])
    today = today_in(location.zone)
    first = _parse_date(request.GET.get("from") or request.POST.get("from"))
    if first is None:
        first = max(target.due_from, today) if target else today
    return location, target, last, first, first + timedelta(days=SLOT_DAYS - 1)


def _slot_choices(location: Location, first: date, last_day: date, target_start, clinician_id, allowed=None):
    """Free slots from the scheduling selector that the course rules allow (`allowed`); the nearest to the
    target first (the planner's ranking)."""
    free = scheduling_selectors.free_slots_for(location=location, start_date=first, end_date=last_day)
    if allowed is not None:
        free = [slot for slot in free if allowed(slot)]
    if target_start is None:
        return free, free[:NEARBY_SLOTS]
    return free, rules.rank_slots(slots=free, target=target_start, clinician_id=clinician_id)[:NEARBY_SLOTS]


@staff_required
def book(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    locations = list(Location.objects.all())
    if not locations:
        messages.error(request, "No location is set up yet.")
        return redirect("web:patient", pk=patient.pk)
    course = cycle_selectors.active_course(patient=patient)
    protocol = course.protocol if course is not None else Protocol.default()
    location, target, last, first, last_day = _slot_window(request, patient, locations, protocol)
    clinicians = web_selectors.clinicians_at(location=location)
    names = {c.id: c for c in clinicians}
    free, nearby = _slot_choices(
        location,
        first,
        last_day,
        target.start if target else None,
        last.clinician_id if last else None,
        booking.treatment_slot_filter(patient=patient, tz=location.zone),
    )
    proposed = nearby[0] if nearby else None
    choices = [(slot_value(s.clinician_id, s.start), s) for s in free]
    form_kwargs = {
        "location": location,
        "slot_choices": [(value, value) for value, _ in choices],
        "clinicians": clinicians,
        "allow_override": is_clinician(request.user),
    }
    if request.method == "POST":
        form = BookingForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                session = services.session_book(
                    patient=patient,
                    clinician=form.cleaned_data["clinician"],
                    location=location,
                    start=form.cleaned_data["start"],
                    kind=form.cleaned_data["kind"],
                    booked_by=request.user,
                    override_reason=form.cleaned_data.get("override_reason", ""),
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"start": "slot"})
            else:
                audit_record(
                    request=request, action=Action.CREATE, resource="session", patients=[patient], object_id=session.id
                )
                local = session.start.astimezone(location.zone)
                messages.success(
                    request, f"Booked {session.get_kind_display().lower()} on {local:%a %d %b %Y at %H:%M}."
                )
                return redirect(f"{reverse('web:day')}?location={location.id}&date={local.date().isoformat()}")
    else:
        initial = {"slot": slot_value(proposed.clinician_id, proposed.start)} if proposed else {}
        form = BookingForm(initial=initial, **form_kwargs)
    return render(
        request,
        "web/book.html",
        {
            "patient": patient,
            "form": form,
            "locations": locations,
            "location": location,
            "target": target,
            "first": first,
            "last_day": last_day,
            "earlier": first - timedelta(days=SLOT_DAYS),
            "later": first + timedelta(days=SLOT_DAYS),
            "slots": _slot_rows(form, choices, names, location, nearby),
            "proposed": proposed,
        },
    )


def _slot_rows(form, choices, names, location, nearby) -> dict:
    """The radio buttons: the slots nearest the target first, then every other free slot by local date."""
    widgets = {w.data["value"]: w for w in form["slot"]}
    rank = {(s.clinician_id, s.start): index for index, s in enumerate(nearby)}
    near, days = [], {}
    for value, slot in choices:
        item = {
            "widget": widgets.get(value),
            "start": slot.start,
            "clinician": names.get(slot.clinician_id),
            "proposed": rank.get((slot.clinician_id, slot.start)) == 0,
        }
        if (slot.clinician_id, slot.start) in rank:
            near.append((rank[(slot.clinician_id, slot.start)], item))
        else:
            days.setdefault(slot.start.astimezone(location.zone).date(), []).append(item)
    return {"nearby": [item for _, item in sorted(near, key=lambda pair: pair[0])], "days": sorted(days.items())}


@staff_required
def reschedule(request, pk):
    session = get_object_or_404(Session.objects.select_related("patient", "clinician", "location"), pk=pk)
    location = session.location
    clinicians = web_selectors.clinicians_at(location=location)
    names = {c.id: c for c in clinicians}
    today = today_in(location.zone)
    first = _parse_date(request.GET.get("from") or request.POST.get("from")) or max(
        today, session.start.astimezone(location.zone).date()
    )
    last_day = first + timedelta(days=SLOT_DAYS - 1)
    allowed = (
        booking.treatment_slot_filter(patient=session.patient, tz=location.zone, exclude=session)
        if session.kind == Session.Kind.TREATMENT
        else None
    )
    free, nearby = _slot_choices(location, first, last_day, session.start, session.clinician_id, allowed)
    choices = [(slot_value(s.clinician_id, s.start), s) for s in free]
    form_kwargs = {
        "location": location,
        "slot_choices": [(value, value) for value, _ in choices],
        "clinicians": clinicians,
    }
    if request.method == "POST":
        form = SlotPickForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                moved = services.session_reschedule(
                    session=session,
                    start=form.cleaned_data["start"],
                    clinician=form.cleaned_data["clinician"],
                    by=request.user,
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"start": "slot"})
            else:
                audit_record(
                    request=request,
                    action=Action.UPDATE,
                    resource="session",
                    patients=[session.patient],
                    object_id=session.id,
                )
                local = moved.start.astimezone(location.zone)
                messages.success(request, f"Moved to {local:%a %d %b %Y at %H:%M} with {moved.clinician.name}.")
                return redirect("web:patient", pk=session.patient_id)
    else:
        form = SlotPickForm(**form_kwargs)
    return render(
        request,
        "web/reschedule.html",
        {
            "session": session,
            "patient": session.patient,
            "form": form,
            "location": location,
            "first": first,
            "last_day": last_day,
            "earlier": first - timedelta(days=SLOT_DAYS),
            "later": first + timedelta(days=SLOT_DAYS),
            "slots": _slot_rows(form, choices, names, location, nearby),
        },
    )


_ACTIONS = {
    "check-in": (services.session_check_in, "Checked in."),
    "no-show": (services.session_no_show, "Marked as a no-show."),
}


@require_POST
@staff_required
def session_action(request, pk, action):
    if action != "cancel" and action not in _ACTIONS:
        raise Http404
    session = get_object_or_404(Session.objects.select_related("patient", "location"), pk=pk)
    back = _back(request, reverse("web:patient", args=[session.patient_id]))
    try:
        if action == "cancel":
            form = CancelForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            services.session_cancel(session=session, reason=reason, by=request.user)
            done = "Cancelled."
        else:
            service, done = _ACTIONS[action]
            service(session=session, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        audit_record(
            request=request, action=Action.UPDATE, resource="session", patients=[session.patient], object_id=session.id
        )
        messages.success(request, f"{session.patient.full_name}: {done}")
    return redirect(back)


# --- due list ----------------------------------------------------------------------------------


@staff_required
def due(request):
    within = request.GET.get("within_days", "14")
    within_days = int(within) if within.isdigit() and int(within) <= MAX_WITHIN_DAYS else 14
    # 1 protocols, 2 zones, 3 due courses with patient and protocol (the due list's own selector), 4 audit
    rows = [due_list.due_row(course) for course in due_list.due_list(within_days=within_days)[:DUE_LIMIT]]
    audit_record(request=request, action=Action.READ, resource="due_list", patient_ids=[row.patient_id for row in rows])
    return render(request, "web/due.html", {"rows": rows, "within_days": within_days, "limit": DUE_LIMIT})


# --- clinician pages -----------------------------------------------------------------------------


@clinician_required
def review_queue(request):
    flags = list(cycle_selectors.open_flags())
    audit_record(request=request, action=Action.READ, resource="review_flag", patients=[f.patient for f in flags])
    kinds = dict(
        ReviewFlag.objects.filter(status=ReviewFlag.Status.OPEN)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    return render(
        request,
        "web/review_queue.html",
        {"flags": flags, "kinds": kinds, "form": ResolveFlagForm()},
    )


@require_POST
@clinician_required
def resolve_flag(request, pk):
    flag = get_object_or_404(ReviewFlag.objects.select_related("patient"), pk=pk)
    back = _back(request, reverse("web:review_queue"))
    form = ResolveFlagForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision to resolve the flag.")
        return redirect(back)
    try:
        review_flag_resolve(
            flag=flag, decision=form.cleaned_data["decision"], note=form.cleaned_data["note"], resolved_by=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        audit_record(
            request=request, action=Action.UPDATE, resource="review_flag", patients=[flag.patient], object_id=flag.id
        )
        messages.success(
            request, f"{flag.patient.full_name}: {flag.get_kind_display()} resolved ({form.cleaned_data['decision']})."
        )
    return redirect(back)


@clinician_required
def patient_response(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    history = cycle_selectors.response_for_patient(patient=patient)
    flags = list(cycle_selectors.open_flags_for_patient(patient=patient))
    sessions = [s for s in web_selectors.sessions_for_patient(patient=patient) if s.status in Session.UPCOMING_STATUSES]
    diary = list(patient_selectors.diary_for_patient(patient=patient))
    audit_record(request=request, action=Action.READ, resource="response", patients=[patient])
    baseline = history.baseline.headache_days_per_28 if history.baseline else None
    threshold_line = round(baseline * (1 - history.threshold_pct / 100), 1) if baseline else None
    chart = {
        "baseline": baseline,
        "threshold": threshold_line,
        "threshold_pct": history.threshold_pct,
        "cycles": [
            {
                "cycle": c.cycle,
                "treated_on": c.treated_on.isoformat(),
                "window_end": c.window_end.isoformat(),
                "headache_days_per_28": c.rate.headache_days_per_28,
                "assessment": str(c.assessment),
            }
            for c in history.cycles
        ],
        "diary": [
            {
                "start": d.period_start.isoformat(),
                "end": d.period_end.isoformat(),
                "headache_days_per_28": round(d.headache_days / d.days * 28, 1),
            }
            for d in diary
        ],
    }
    return render(
        request,
        "web/response.html",
        {
            "patient": patient,
            "history": history,
            "baseline": baseline,
            "threshold_line": threshold_line,
            "chart": chart,
            "flags": flags,
            "upcoming": sessions,
            "form": ResolveFlagForm(),
        },
    )


@clinician_required
def complete(request, pk):
    session = get_object_or_404(Session.objects.select_related("patient", "clinician", "location"), pk=pk)
    is_treatment = session.kind == Session.Kind.TREATMENT
    if request.method == "POST":
        form = TreatmentForm(request.POST) if is_treatment else None
        events = AdverseEventFormSet(request.POST, prefix="ae")
        valid = events.is_valid() and (form is None or form.is_valid())
        if valid:
            try:
                treatments.session_complete(
                    session=session,
                    treatment=form.treatment() if form else None,
                    adverse_events=[
                        {"kind": e["kind"], "severity": e["severity"], "note": e.get("note", "")}
                        for e in events.cleaned_data
                        if e.get("kind")
                    ],
                    notes=form.cleaned_data["notes"] if form else request.POST.get("notes", ""),
                    by=request.user,
                )
            except DomainError as exc:
                apply_domain_error(form or events.forms[0], exc)
            else:
                audit_record(
                    request=request,
                    action=Action.CREATE,
                    resource="treatment",
                    patients=[session.patient],
                    object_id=session.id,
                )
                nxt = (
                    Session.objects.filter(
                        patient=session.patient, start__gt=session.start, status__in=Session.UPCOMING_STATUSES
                    )
                    .select_related("location", "clinician")
                    .order_by("start")
                    .first()
                )
                text = "Treatment recorded." if is_treatment else "Session completed."
                if nxt is not None:
                    local = nxt.start.astimezone(nxt.location.zone)
                    text += f" Next session booked: {local:%a %d %b %Y at %H:%M} with {nxt.clinician.name}."
                elif is_treatment:
                    text += (
                        " The next session is being planned: it appears under upcoming sessions, or on the due list."
                    )
                messages.success(request, text)
                return redirect("web:patient", pk=session.patient_id)
    else:
        if session.status != Session.Status.CHECKED_IN:
            messages.error(request, "Check the patient in before recording the treatment.")
        form = TreatmentForm() if is_treatment else None
        events = AdverseEventFormSet(prefix="ae")
    return render(
        request,
        "web/complete.html",
        {
            "session": session,
            "patient": session.patient,
            "form": form,
            "events": events,
            "is_treatment": is_treatment,
            "local_start": session.start.astimezone(session.location.zone),
        },
    )

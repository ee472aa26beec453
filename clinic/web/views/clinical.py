"""Clinician pages: the review queue, a patient's response and treatment history, recording a treatment, a
late adverse event."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.web import selectors as web_selectors
from clinic.web.access import clinician_required
from clinic.web.display import when_text
from clinic.web.forms import (
    AdverseEventFormSet,
    LateAdverseEventForm,
    ResolveFlagForm,
    TreatmentForm,
    apply_domain_error,
    flash_domain_error,
)
from clinic.web.labels import label
from clinic.web.views.common import Action, back
from cycles import selectors as cycle_selectors
from cycles import treatments
from cycles.flags import review_flag_resolve
from cycles.models import ReviewFlag
from patients import selectors as patient_selectors
from scheduling import services
from scheduling.models import Session


def _patient_or_404(pk):
    patient = web_selectors.patient(pk=pk)
    if patient is None:
        raise Http404("No such patient.")
    return patient


def _session_or_404(pk):
    session = web_selectors.session(pk=pk)
    if session is None:
        raise Http404("No such session.")
    return session


@require_GET
@clinician_required
def review_queue(request):
    """Queries: open flags with patient and the course's latest clinician and location (one), counts by
    kind, locations, clinicians, audit rows."""
    # Filter values are written with hyphens, so no stored code appears in the page.
    kind = request.GET.get("kind", "").replace("-", "_")
    kind = kind if kind in ReviewFlag.Kind.values else ""
    locations = web_selectors.locations()
    clinicians = list(web_selectors.active_clinicians())
    clinician_id = request.GET.get("clinician", "")
    clinician_id = clinician_id if any(str(c.id) == clinician_id for c in clinicians) else ""
    location_id = request.GET.get("location", "")
    location_id = location_id if any(str(loc.id) == location_id for loc in locations) else ""
    flags = web_selectors.review_queue(kind=kind, clinician_id=clinician_id, location_id=location_id)
    for f in flags:
        f.zone = f.location_zone or f.patient.time_zone
    audit_record(request=request, action=Action.READ, resource="review_flag", patients=[f.patient for f in flags])
    counts = web_selectors.open_flag_counts()
    return render(
        request,
        "web/review_queue.html",
        {
            "flags": flags,
            "counts": sorted(((k, label(k), n) for k, n in counts.items()), key=lambda t: t[1]),
            "total": sum(counts.values()),
            "kind": kind,
            "kinds": [(k.replace("_", "-"), label(k)) for k in ReviewFlag.Kind.values],
            "kind_value": kind.replace("_", "-"),
            "clinicians": clinicians,
            "clinician_id": clinician_id,
            "locations": locations,
            "location_id": location_id,
            "form": ResolveFlagForm(),
            "here": request.get_full_path(),
        },
    )


@require_POST
@clinician_required
def resolve_flag(request, pk):
    flag = web_selectors.flag(pk=pk)
    if flag is None:
        raise Http404("No such flag.")
    form = ResolveFlagForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{flag.patient.full_name}: choose a decision to resolve the flag.")
        return redirect(back(request, reverse("web:review_queue")))
    decision = form.cleaned_data["decision"]
    try:
        review_flag_resolve(flag=flag, decision=decision, note=form.cleaned_data["note"], resolved_by=request.user)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        audit_record(request=request, action=Action.UPDATE, resource="review_flag", obj=flag)
        messages.success(
            request, f"{flag.patient.full_name}: “{label(flag.kind)}” resolved — {label(decision).lower()}."
        )
    return redirect(back(request, reverse("web:review_queue")))


@require_GET
@clinician_required
def patient_response(request, pk):
    patient = _patient_or_404(pk)
    history = cycle_selectors.response_for_patient(patient=patient)
    flags = list(cycle_selectors.open_flags_for_patient(patient=patient))
    upcoming = [s for s in web_selectors.sessions_for_patient(patient=patient) if s.status in Session.UPCOMING_STATUSES]
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
                "assessment": label(str(c.assessment)),
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
            "status": str(history.status),
            "baseline": baseline,
            "threshold_line": threshold_line,
            "chart": chart,
            "flags": flags,
            "upcoming": upcoming,
            "form": ResolveFlagForm(),
            "here": request.get_full_path(),
        },
    )


def _claim_lines(record) -> list[dict]:
    """The claim lines of a treatment (DESIGN.md §2): CPT 64615, J0585 × given, JW × wasted or JZ."""
    billing = getattr(record, "billing", None)
    if isinstance(billing, list):
        return billing
    lines = [{"code": "64615"}, {"code": "J0585", "units": record.total_units}]
    if record.units_wasted > 0:
        lines.append({"code": "J0585", "modifier": "JW", "units": record.units_wasted})
    else:
        lines.append({"code": "J0585", "modifier": "JZ", "units": 0})
    return lines


@require_GET
@clinician_required
def treatment_history(request, pk):
    """Every treatment cycle of the patient. Queries: patient, treatments with records, their adverse
    events, other adverse events, audit row."""
    patient = _patient_or_404(pk)
    cycles = web_selectors.treatment_history(patient=patient)
    for index, s in enumerate(cycles):
        # Cycle numbers are stored on completion; history imported without one is numbered by its order.
        s.cycle = s.cycle_number or len(cycles) - index
        record = getattr(s, "treatment", None)
        s.record = record
        if record is not None:
            s.muscles = [(label(m), u) for m, u in record.units_by_muscle.items()]
            s.claim_lines = _claim_lines(record)
            s.vials = getattr(record, "vials", None) or []
            s.deviation_reason = getattr(record, "deviation_reason", "")
    other_events = web_selectors.adverse_events_without_treatment(patient=patient)
    audit_record(request=request, action=Action.READ, resource="treatment", patients=[patient])
    return render(
        request,
        "web/treatment_history.html",
        {"patient": patient, "cycles": cycles, "other_events": other_events},
    )


@clinician_required
def complete(request, pk):
    session = _session_or_404(pk)
    is_treatment = session.kind == Session.Kind.TREATMENT
    problem = services.action_problem(session, "complete")
    if request.method == "POST":
        form = TreatmentForm(request.POST) if is_treatment else None
        events = AdverseEventFormSet(request.POST, prefix="ae")
        # Both validated, so every error shows in one round.
        valid = [events.is_valid(), form.is_valid() if form is not None else True]
        if all(valid):
            try:
                treatments.session_complete(
                    session=session,
                    treatment=form.treatment() if form else None,
                    adverse_events=[e.event() for e in events.forms if e.cleaned_data.get("kind")],
                    notes=form.cleaned_data["notes"] if form else request.POST.get("notes", ""),
                    by=request.user,
                    override_reason=form.cleaned_data.get("override_reason", "") if form else "",
                )
            except DomainError as exc:
                apply_domain_error(form or events.forms[0], exc)
            else:
                audit_record(request=request, action=Action.CREATE, resource="treatment", obj=session)
                _audit_overrides(request, session, form)
                nxt = web_selectors.next_session_after(session=session)
                text = f"{session.patient.full_name}: " + (
                    "treatment recorded." if is_treatment else "session completed."
                )
                if nxt is not None:
                    text += (
                        f" Next session booked: {when_text(nxt.start, nxt.location.zone)} with {nxt.clinician.name}."
                    )
                elif is_treatment:
                    text += (
                        " The next session is being planned: it appears under upcoming sessions, or on the due list."
                    )
                messages.success(request, text)
                return redirect("web:patient", pk=session.patient_id)
    else:
        form = TreatmentForm() if is_treatment else None
        events = AdverseEventFormSet(prefix="ae")
    audit_record(request=request, action=Action.READ, resource="treatment", obj=session)
    errors = []
    for f in [form, *events.forms]:
        if f is None or not f.is_bound:
            continue
        errors += [(None, e) for e in f.non_field_errors()]
        for name, field_errors in f.errors.items():
            if name != "__all__":
                errors += [(f[name], e) for e in field_errors]
    return render(
        request,
        "web/complete.html",
        {
            "session": session,
            "patient": session.patient,
            "form": form,
            "events": events,
            "is_treatment": is_treatment,
            "problem": problem,
            "errors": errors,
        },
    )


@clinician_required
def late_adverse_event(request, pk):
    """An adverse event reported after the visit: recorded on that session, urgent ones flagged at once."""
    session = _session_or_404(pk)
    if session.status != Session.Status.COMPLETED:
        raise Http404("Only a completed session can have a late adverse event.")
    form = LateAdverseEventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            treatments.adverse_event_report(session=session, event=form.event(), by=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            audit_record(request=request, action=Action.CREATE, resource="adverse_event", obj=session)
            messages.success(
                request,
                f"{session.patient.full_name}: {label(form.cleaned_data['kind']).lower()} recorded for the session "
                f"on {when_text(session.start, session.location.zone)}.",
            )
            return redirect("web:treatments", pk=session.patient_id)
    audit_record(request=request, action=Action.READ, resource="adverse_event", obj=session)
    return render(
        request, "web/late_adverse_event.html", {"session": session, "patient": session.patient, "form": form}
    )


def _audit_overrides(request, session, form) -> None:
    """The clinician's override and a recorded PREEMPT deviation are audited as the API audits them."""
    if form is None:
        return
    reason = form.cleaned_data.get("override_reason", "").strip()
    if reason:
        audit_record(request=request, action=Action.OVERRIDE, resource="session", obj=session, detail=reason)
    deviation = form.cleaned_data.get("deviation_reason", "").strip()
    if deviation:
        audit_record(
            request=request,
            action=Action.OVERRIDE,
            resource="treatment",
            obj=session,
            detail=f"PREEMPT deviation: {deviation}",
        )

"""Patients: search, intake, the patient page, editing contact, consent, zone and status."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic import inputs
from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.roles import is_clinician
from clinic.web import authorizations
from clinic.web import selectors as web_selectors
from clinic.web.access import staff_required
from clinic.web.forms import PatientForm, apply_domain_error
from clinic.web.views.common import Action, session_actions
from cycles import selectors as cycle_selectors
from patients import selectors as patient_selectors
from patients import services as patient_services
from scheduling.models import Session

SEARCH_LIMIT = 50


def _patient_or_404(pk):
    patient = web_selectors.patient(pk=pk)
    if patient is None:
        raise Http404("No such patient.")
    return patient


@require_GET
@staff_required
def patient_search(request):
    query = inputs.strip_control_characters(request.GET.get("q", "")).strip()
    patients = list(patient_selectors.patient_search(query=query)[:SEARCH_LIMIT]) if query else []
    audit_record(request=request, action=Action.READ, resource="patient", patients=patients)
    template = "web/_patient_results.html" if request.headers.get("HX-Request") else "web/patient_search.html"
    return render(request, template, {"query": query, "patients": patients, "limit": SEARCH_LIMIT})


@staff_required
def patient_create(request):
    form = PatientForm(request.POST or None, initial={"email_opt_in": True, "status": "active"})
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_services.patient_create(**form.changes)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            audit_record(request=request, action=Action.CREATE, resource="patient", patients=[patient])
            messages.success(request, f"{patient.full_name} added (MRN {patient.mrn}).")
            return redirect("web:patient", pk=patient.pk)
    if "time_zone" not in form.data and not form.is_bound:
        locations = web_selectors.locations()
        form.initial["time_zone"] = locations[0].time_zone if locations else "Europe/London"
    return render(request, "web/patient_form.html", {"form": form, "patient": None})


@staff_required
def patient_edit(request, pk):
    patient = _patient_or_404(pk)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        changes = form.changes
        try:
            if changes:
                patient_services.patient_update(patient=patient, **changes)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            audit_record(
                request=request,
                action=Action.UPDATE,
                resource="patient",
                patients=[patient],
                detail="changed: " + ", ".join(sorted(changes)) if changes else "no change",
            )
            messages.success(request, f"{patient.full_name}: details saved." if changes else "Nothing changed.")
            return redirect("web:patient", pk=patient.pk)
    audit_record(request=request, action=Action.READ, resource="patient", patients=[patient])
    return render(request, "web/patient_form.html", {"form": form, "patient": patient})


@require_GET
@staff_required
def patient_detail(request, pk):
    """Queries: patient, sessions with clinician and location, notifications, audit row."""
    patient = _patient_or_404(pk)
    sessions = web_selectors.sessions_for_patient(patient=patient)
    now = timezone.now()
    for s in sessions:
        s.patient = patient  # the buttons name the patient: no query per row
        s.can = session_actions(s, now)
    upcoming = sorted((s for s in sessions if s.status in Session.UPCOMING_STATUSES), key=lambda s: s.start)
    past = [s for s in sessions if s.status not in Session.UPCOMING_STATUSES]
    notifications = web_selectors.notifications_for_patient(patient=patient)
    zones = {s.id: s.location.time_zone for s in sessions}
    for n in notifications:
        n.zone = zones.get(n.session_id, patient.time_zone)
    course = web_selectors.course_for_page(patient=patient)
    patient_offers = cycle_selectors.slot_offers_for_patient(patient=patient)
    audit_record(request=request, action=Action.READ, resource="patient", patients=[patient])
    return render(
        request,
        "web/patient_detail.html",
        {
            "patient": patient,
            "course": course,
            "patient_offers": patient_offers,
            "panel": authorizations.panel_for(patient, request.user, course) if course else {"course": None},
            "upcoming": upcoming,
            "past": past,
            "notifications": notifications,
            "is_clinician": is_clinician(request.user),
            "here": request.get_full_path(),
        },
    )

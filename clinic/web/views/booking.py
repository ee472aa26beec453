"""Booking a session and moving one: one page, one implementation (`_slot_page`).

Both propose the free slots nearest a target (the next treatment's due time when
booking, the session's current time when moving), in time order and grouped by day,
with the nearest one chosen; "Another time" is the one other choice.
"""

from datetime import timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.roles import is_clinician
from clinic.timezones import today_in
from clinic.web import selectors as web_selectors
from clinic.web.access import staff_required
from clinic.web.display import when_text
from clinic.web.forms import OTHER_TIME, BookingForm, SlotPickForm, apply_domain_error, parse_day, slot_value
from clinic.web.labels import label
from clinic.web.views.common import Action, back
from cycles import booking, rules
from cycles import selectors as cycle_selectors
from scheduling import selectors as scheduling_selectors
from scheduling import services
from scheduling.models import Session

NEARBY_SLOTS = 8  # offered first, nearest the target
SLOT_DAYS = 7  # a week of free slots at a time


@staff_required
def book(request, pk):
    patient = web_selectors.patient(pk=pk)
    if patient is None:
        raise Http404("No such patient.")
    return _slot_page(request, patient=patient, session=None)


@staff_required
def reschedule(request, pk):
    session = web_selectors.session(pk=pk)
    if session is None:
        raise Http404("No such session.")
    return _slot_page(request, patient=session.patient, session=session)


def _where_and_when(request, *, patient, session, locations, protocol):
    """The location, the target time and clinician to rank slots by, and the due window when booking."""
    if session is not None:
        return session.location, session.start, session.clinician_id, None
    last = cycle_selectors.last_completed_treatment(patient=patient)
    due = rules.next_target(last.start, last.location.zone, protocol) if last else None
    wanted = request.GET.get("location") or request.POST.get("location")
    location = next((loc for loc in locations if str(loc.id) == wanted), None)
    location = location or web_selectors.home_location_for(patient=patient, locations=locations) or locations[0]
    return location, (due.start if due else None), (last.clinician_id if last else None), due


def _slot_groups(free, nearby, location, chosen: str) -> tuple[list, list]:
    """(nearest slots by day, every other free slot by day), each [(local date, [item, ...])] in time order."""
    near_keys = {(s.clinician_id, s.start) for s in nearby}
    proposed = (nearby[0].clinician_id, nearby[0].start) if nearby else None
    near: dict = {}
    others: dict = {}
    for slot in free:
        value = slot_value(slot.clinician_id, slot.start)
        item = {
            "value": value,
            "start": slot.start,
            "clinician_id": slot.clinician_id,
            "proposed": (slot.clinician_id, slot.start) == proposed,
            "checked": value == chosen,
        }
        day = slot.start.astimezone(location.zone).date()
        (near if (slot.clinician_id, slot.start) in near_keys else others).setdefault(day, []).append(item)
    return sorted(near.items()), sorted(others.items())


def _slot_page(request, *, patient, session):
    locations = web_selectors.locations()
    moving = session is not None
    if not locations:
        messages.error(request, "No location is set up yet.")
        return redirect("web:patient", pk=patient.pk)
    course = cycle_selectors.active_course(patient=patient)
    protocol = course.protocol if course is not None else web_selectors.protocol()
    location, target, clinician_id, due = _where_and_when(
        request, patient=patient, session=session, locations=locations, protocol=protocol
    )
    today = today_in(location.zone)
    first = parse_day(request.GET.get("from") or request.POST.get("from"))
    if first is None:
        if due is not None:
            first = due.due_from
        elif moving:
            first = session.start.astimezone(location.zone).date() - timedelta(days=3)
        else:
            first = today
    first = max(first, today)
    last_day = first + timedelta(days=SLOT_DAYS - 1)
    clinicians = web_selectors.clinicians_at(location=location)
    names = {c.id: c for c in clinicians}
    free = scheduling_selectors.free_slots_for(location=location, start_date=first, end_date=last_day)
    if not moving or session.kind == Session.Kind.TREATMENT:
        # Only slots the course rules allow, asked as the planner asks: no proposal the booking would refuse.
        allowed = booking.treatment_slot_filter(patient=patient, tz=location.zone, exclude=session)
        free = [slot for slot in free if allowed(slot)]
    ranked = rules.rank_slots(slots=free, target=target, clinician_id=clinician_id) if target else free
    nearby = ranked[:NEARBY_SLOTS]
    clinician_qs = web_selectors.active_clinicians().filter(pk__in=list(names))
    form_class = SlotPickForm if moving else BookingForm
    kwargs = {"location": location, "clinicians": clinician_qs}
    if not moving:
        kwargs["allow_override"] = is_clinician(request.user)
    default_back = reverse("web:patient", args=[patient.pk])
    if request.method == "POST":
        form = form_class(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if moving:
                    result = services.session_reschedule(
                        session=session, start=data["start"], clinician=data["clinician"], by=request.user
                    )
                else:
                    result = services.session_book(
                        patient=patient,
                        clinician=data["clinician"],
                        location=location,
                        start=data["start"],
                        kind=data["kind"],
                        booked_by=request.user,
                        override_reason=data.get("override_reason", ""),
                    )
            except DomainError as exc:
                apply_domain_error(form, exc, {"start": "slot"})
            else:
                audit_record(
                    request=request, action=Action.UPDATE if moving else Action.CREATE, resource="session", obj=result
                )
                if not moving and data.get("override_reason", "").strip():
                    audit_record(
                        request=request,
                        action=Action.OVERRIDE,
                        resource="session",
                        obj=result,
                        detail=result.override_reason,
                    )
                when = f"{when_text(result.start, location.zone)} with {result.clinician.name}"
                kind = label(result.kind).lower()
                if moving:
                    text = f"Moved {patient.full_name}’s {kind} to {when}."
                else:
                    text = f"Booked {kind} for {patient.full_name} on {when}."
                messages.success(request, text)
                return redirect(back(request, default_back))
        chosen = request.POST.get("slot", "")
    else:
        chosen = slot_value(nearby[0].clinician_id, nearby[0].start) if nearby else OTHER_TIME
        initial = {"slot": chosen}
        if not moving:
            initial["kind"] = "treatment"
        else:
            initial["clinician"] = session.clinician_id
        form = form_class(initial=initial, **kwargs)
    near, others = _slot_groups(free, nearby, location, chosen)
    for _day, items in [*near, *others]:
        for item in items:
            item["clinician"] = names.get(item["clinician_id"])
    audit_record(request=request, action=Action.READ, resource="patient", patients=[patient])
    return render(
        request,
        "web/slots.html",
        {
            "patient": patient,
            "session": session,
            "moving": moving,
            "form": form,
            "locations": locations,
            "location": location,
            "due": due,
            "first": first,
            "last_day": last_day,
            "earlier": first - timedelta(days=SLOT_DAYS) if first > today else None,
            "later": first + timedelta(days=SLOT_DAYS),
            "near": near,
            "others": others,
            "other_checked": chosen == OTHER_TIME,
            "next": back(request, default_back),
        },
    )

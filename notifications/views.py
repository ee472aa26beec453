"""Patient link pages (no login): GET shows, POST acts once; used or expired → 410.

A slot offer's link (`/p/<token>/` too) answers 409 with the `slot_taken` page once the
slot went to someone else, and 410 once the offer has ended otherwise.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.models import AuditLog
from cycles import offers
from cycles.models import SlotOffer
from notifications import links, selectors
from notifications.forms import DiaryForm, OfferActionForm, SessionActionForm, last_four_weeks
from notifications.models import PatientLink
from notifications.rendering import when_context
from patients import services as patient_services
from scheduling import services as scheduling_services
from scheduling.models import Session

CANCEL_REASON = "Cancelled by the patient from their link."


class _Invalid(Exception):
    pass


def _resolve(token: str, kind: str):
    try:
        return links.resolve(token, kind=kind), None, None
    except links.LinkInvalid:
        raise _Invalid from None
    except links.LinkGone as exc:
        return None, str(exc), exc.link


def _phone_for(link: PatientLink | None) -> str:
    """The number to call: the session's location's, else the clinic's (CLINIC_PHONE)."""
    if link is not None and link.session_id and link.session.location.phone:
        return link.session.location.phone
    return settings.CLINIC_PHONE


def _gone(request, why: str, link: PatientLink | None = None):
    return render(request, "notifications/link_gone.html", {"why": why, "phone": _phone_for(link)}, status=410)


def _not_found(request):
    return render(request, "notifications/link_invalid.html", {"phone": settings.CLINIC_PHONE}, status=404)


def _session_context(link: PatientLink, **extra) -> dict:
    session = link.session
    return {
        "link": link,
        "session": session,
        "first_name": link.patient.given_name,
        "can_act": session.status in (Session.Status.BOOKED, Session.Status.CONFIRMED)
        and session.start > timezone.now(),
        **when_context(session.start, session.location.zone),
        "location_name": session.location.name,
        "phone": _phone_for(link),
        **extra,
    }


def _audit(request, link: PatientLink, action: str, resource: str, object_id, detail: str) -> None:
    audit_record(
        request=request,
        action=action,
        resource=resource,
        patient_ids=[link.patient_id],
        object_id=object_id,
        detail=detail,
        actor=links.actor(link),
    )


def _use(link: PatientLink, action: str) -> bool:
    """Mark the link used, once: of two simultaneous POSTs only one gets True."""
    return (
        PatientLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now(), used_action=action)
        == 1
    )


def session_link(request, token: str):
    try:
        link, gone, known = _resolve(token, (PatientLink.Kind.SESSION, PatientLink.Kind.OFFER))
    except _Invalid:
        return _not_found(request)
    if gone:
        return _gone(request, gone, known)
    if link.kind == PatientLink.Kind.OFFER:
        return offer_link(request, link)
    if request.method != "POST":
        _audit(request, link, AuditLog.Action.READ, "session", link.session_id, "patient link opened")
        return render(request, "notifications/link_session.html", _session_context(link, form=SessionActionForm()))
    if link.session.start <= timezone.now():
        # A session that has started is the clinic's to change, not the link's (API.md, Notifications).
        return _gone(request, "started", link)
    form = SessionActionForm(request.POST)
    if not form.is_valid():
        return render(request, "notifications/link_session.html", _session_context(link, form=form), status=400)
    claimed = form.cleaned_data.get("session")
    if claimed is not None and claimed != link.session_id:
        # The token is bound to one session; a form naming another acts on nothing.
        form.add_error(None, "This link belongs to a different appointment.")
        return render(request, "notifications/link_session.html", _session_context(link, form=form), status=400)
    action = form.cleaned_data["action"]
    try:
        with transaction.atomic():
            if not _use(link, action):
                return _gone(request, "used", link)
            if action == "confirm":
                session = scheduling_services.session_confirm(session=link.session, by=None)
            else:
                session = scheduling_services.session_cancel(session=link.session, reason=CANCEL_REASON, by=None)
    except DomainError as exc:
        # Nothing changed, and the link is still unused (the transaction rolled back).
        form.add_error(None, exc.detail)
        status = getattr(exc, "status_code", 409)
        return render(request, "notifications/link_session.html", _session_context(link, form=form), status=status)
    _audit(request, link, AuditLog.Action.UPDATE, "session", session.id, f"patient link: {action}")
    link.session = session
    return render(request, "notifications/link_done.html", _session_context(link, action=action, can_act=False))


def diary_link(request, token: str):
    try:
        link, gone, known = _resolve(token, PatientLink.Kind.DIARY)
    except _Invalid:
        return _not_found(request)
    if gone:
        return _gone(request, gone, known)
    context = {"link": link, "first_name": link.patient.given_name}
    if request.method != "POST":
        # The monthly request asks about the last four weeks: that period, filled in, in the patient's zone.
        today = timezone.now().astimezone(ZoneInfo(link.patient.time_zone)).date()
        return render(
            request, "notifications/link_diary.html", {**context, "form": DiaryForm(initial=last_four_weeks(today))}
        )
    form = DiaryForm(request.POST)
    if not form.is_valid():
        return render(request, "notifications/link_diary.html", {**context, "form": form}, status=400)
    try:
        with transaction.atomic():
            if not _use(link, "diary"):
                return _gone(request, "used", link)
            entry = patient_services.diary_entry_create(
                patient=link.patient, recorded_by=None, source="patient", **form.cleaned_data
            )
            _audit(request, link, AuditLog.Action.CREATE, "diary", entry.id, "patient diary link")
    except DomainError as exc:
        for field, messages in (exc.fields or {None: [exc.detail]}).items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return render(request, "notifications/link_diary.html", {**context, "form": form}, status=400)
    return render(request, "notifications/link_diary_done.html", context)


# --- slot offers ------------------------------------------------------------------------------


def _offer_for(link: PatientLink) -> SlotOffer:
    offer = selectors.slot_offer_for(session_id=link.session_id, patient_id=link.patient_id)
    if offer is None:
        raise Http404("No such offer.")
    return offer


def _offer_context(link: PatientLink, offer: SlotOffer, **extra) -> dict:
    slot = offer.freed_slot.session
    moves = offer.moves
    return {
        "link": link,
        "offer": offer,
        "first_name": link.patient.given_name,
        **when_context(slot.start, slot.location.zone),
        "location_name": slot.location.name,
        "moves": when_context(moves.start, moves.location.zone)
        if moves is not None and moves.status in Session.UPCOMING_STATUSES
        else None,
        **extra,
    }


def _taken(request, context: dict):
    return render(request, "notifications/link_offer_taken.html", context, status=409)


def _audit_offer(request, link: PatientLink, offer: SlotOffer, action: str) -> None:
    _audit(request, link, action, "slot_offer", offer.pk, "patient offer link")


def offer_link(request, link: PatientLink):
    """GET shows the freed slot with Take / No thanks; POST `action=accept|decline` acts once. The first
    accept wins; a later one gets the 409 `slot_taken` page with nothing booked."""
    offer = _offer_for(link)
    context = _offer_context(link, offer)
    if offer.status == SlotOffer.Status.TAKEN:
        return _taken(request, context)
    if offer.status != SlotOffer.Status.OFFERED or offer.freed_slot.offer_until <= timezone.now():
        return _gone(request, "ended")
    if request.method != "POST":
        _audit_offer(request, link, offer, AuditLog.Action.READ)
        return render(request, "notifications/link_offer.html", {**context, "form": OfferActionForm()})
    form = OfferActionForm(request.POST)
    if not form.is_valid():
        return render(request, "notifications/link_offer.html", {**context, "form": form}, status=400)
    claimed = form.cleaned_data.get("offer")
    if claimed is not None and claimed != offer.pk:
        form.add_error(None, "This link belongs to a different offer.")
        return render(request, "notifications/link_offer.html", {**context, "form": form}, status=400)
    action = form.cleaned_data["action"]
    try:
        with transaction.atomic():
            if not _use(link, action):
                return _gone(request, "used")
            if action == "accept":
                offer = offers.slot_offer_accept(offer=offer, by=None)
            else:
                offer = offers.slot_offer_decline(offer=offer, by=None)
    except offers.SlotTaken:
        # Nothing was booked and the link is unused (rolled back); the offer now says taken.
        offers.slot_offer_lost(offer=offer)
        return _taken(request, context)
    except offers.OfferEnded:
        return _gone(request, "ended")
    except DomainError as exc:
        form.add_error(None, exc.detail)
        return render(request, "notifications/link_offer.html", {**context, "form": form}, status=exc.status_code)
    _audit_offer(request, link, offer, AuditLog.Action.UPDATE)
    return render(request, "notifications/link_offer_done.html", {**context, "action": action})

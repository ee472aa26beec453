"""Session actions from the day view and the patient page: check in, no-show, cancel (with a reason, a
confirmation and an undo for a minute)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.audit import audit_record
from clinic.context_processors import UNDO_KEY
from clinic.errors import DomainError
from clinic.web import selectors as web_selectors
from clinic.web.access import staff_required
from clinic.web.display import when_text
from clinic.web.forms import CANCEL_REASONS, CancelForm, apply_domain_error, flash_domain_error
from clinic.web.labels import label
from clinic.web.views.common import Action, back
from scheduling import services


def _session_or_404(pk):
    session = web_selectors.session(pk=pk)
    if session is None:
        raise Http404("No such session.")
    return session


def _describe(session) -> str:
    when = when_text(session.start, session.location.zone)
    return f"{session.patient.full_name}’s {label(session.kind).lower()} on {when}"


_ACTIONS = {
    "check-in": (services.session_check_in, "{name} is checked in."),
    "no-show": (services.session_no_show, "{name} is marked as a no-show."),
}


@require_POST
@staff_required
def session_action(request, pk, action):
    if action not in _ACTIONS:
        raise Http404
    session = _session_or_404(pk)
    service, done = _ACTIONS[action]
    try:
        service(session=session, by=request.user)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        audit_record(request=request, action=Action.UPDATE, resource="session", obj=session)
        messages.success(request, done.format(name=session.patient.full_name))
    return redirect(back(request, reverse("web:patient", args=[session.patient_id])))


@staff_required
def session_cancel(request, pk):
    """GET asks for the reason and confirmation; POST cancels and offers the undo."""
    session = _session_or_404(pk)
    default_back = reverse("web:patient", args=[session.patient_id])
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.session_cancel(session=session, reason=form.cleaned_data["reason"], by=request.user, undoable=True)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            audit_record(request=request, action=Action.UPDATE, resource="session", obj=session)
            deadline = timezone.now() + services.CANCEL_UNDO
            request.session[UNDO_KEY] = {
                "session": str(session.id),
                "until": deadline.isoformat(),
                "text": f"Cancelled {_describe(session)}.",
                "next": back(request, default_back),
            }
            messages.success(request, f"Cancelled {_describe(session)}. The patient is told in a minute.")
            return redirect(back(request, default_back))
    audit_record(request=request, action=Action.READ, resource="session", obj=session)
    return render(
        request,
        "web/cancel.html",
        {
            "session": session,
            "patient": session.patient,
            "form": form,
            "reasons": CANCEL_REASONS,
            "can_cancel": services.action_problem(session, "cancel") is None,
            "next": back(request, default_back),
        },
    )


@require_POST
@staff_required
def session_cancel_undo(request, pk):
    session = _session_or_404(pk)
    request.session.pop(UNDO_KEY, None)
    try:
        services.session_cancel_undo(session=session, by=request.user)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        audit_record(request=request, action=Action.UPDATE, resource="session", obj=session, detail="cancel undone")
        messages.success(request, f"Undone: {_describe(session)} stands again; the patient is not told anything.")
    return redirect(back(request, reverse("web:patient", args=[session.patient_id])))

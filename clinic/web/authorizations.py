"""Prior authorisation pages: a course's approvals (add, edit, status), the renewal work queue for the front
desk, and the reauthorisation packet and the referral letter as PDF for clinicians.

The rules are the services' (cycles.authorizations, cycles.rules.authorization_rule); these views only
parse forms, call them and render. Every page that shows a patient writes its audit rows.
`panel_for(patient, user)` is the context of `web/_authorizations.html`, the block of the patient page.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clinic import inputs
from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.models import AuditLog
from clinic.roles import is_clinician
from clinic.web.access import clinician_required, staff_required
from clinic.web.forms import apply_domain_error
from cycles import authorizations, packets, rules
from cycles import selectors as cycle_selectors
from cycles.models import Authorization, Course

Action = AuditLog.Action
QUEUE_DAYS = rules.AUTHORIZATION_EXPIRING_DAYS
MAX_QUEUE_DAYS = 366
# The existing badge colours: blue waiting, green good, red needs doing.
BADGES = {"pending": "pending", "approved": "confirmed", "denied": "overdue", "expiring": "overdue"}


class AuthorizationForm(forms.Form):
    payer = forms.CharField(label="Payer", max_length=100)
    reference = forms.CharField(label="Authorisation number", max_length=64, required=False)
    status = forms.ChoiceField(label="Status", choices=Authorization.Status.choices, initial="pending")
    treatments_approved = forms.IntegerField(label="Treatments approved", min_value=0, max_value=52, initial=0)
    units_approved = forms.IntegerField(label="Units approved", min_value=1, max_value=10000, required=False)
    valid_from = forms.DateField(label="Valid from", widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label="Valid to", widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise ValidationError({"valid_to": "The approval cannot end before it starts."})
        return data

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["reference"] = data.get("reference") or ""
        data["notes"] = data.get("notes") or ""
        return data


def _course(pk) -> Course:
    return get_object_or_404(Course.objects.select_related("patient", "protocol"), pk=pk)


def _rows(course: Course) -> list[Authorization]:
    rows = authorizations.with_usage(authorizations.authorization_list(course=course))
    for row in rows:
        row.badge = BADGES.get("expiring" if row.is_expiring else row.status, "")
    return rows


@staff_required
def course_authorizations(request, pk):
    """The course's approvals and a form to record one."""
    course = _course(pk)
    form = AuthorizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = authorizations.authorization_create(course=course, by=request.user, **form.values())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            audit_record(
                request=request,
                action=Action.CREATE,
                resource="authorization",
                patients=[course.patient],
                object_id=created.pk,
            )
            messages.success(request, f"Recorded {created.payer} {created.reference} ({created.status}).".strip())
            return redirect("web:course_authorizations", pk=course.pk)
    rows = _rows(course)
    state = authorizations.authorization_states([course])[course.pk]
    audit_record(request=request, action=Action.READ, resource="authorization", patients=[course.patient])
    return render(
        request,
        "web/authorizations/course.html",
        {"course": course, "patient": course.patient, "rows": rows, "state": state, "form": form},
    )


@staff_required
def authorization_edit(request, pk):
    authorization = get_object_or_404(
        Authorization.objects.select_related("course__patient", "course__protocol"), pk=pk
    )
    course = authorization.course
    initial = {name: getattr(authorization, name) for name in authorizations.EDITABLE}
    form = AuthorizationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            authorizations.authorization_update(authorization=authorization, by=request.user, **form.values())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            audit_record(
                request=request,
                action=Action.UPDATE,
                resource="authorization",
                patients=[course.patient],
                object_id=authorization.pk,
            )
            messages.success(request, "Authorisation saved.")
            return redirect("web:course_authorizations", pk=course.pk)
    audit_record(
        request=request,
        action=Action.READ,
        resource="authorization",
        patients=[course.patient],
        object_id=authorization.pk,
    )
    return render(
        request,
        "web/authorizations/edit.html",
        {"authorization": authorization, "course": course, "patient": course.patient, "form": form},
    )


@require_POST
@staff_required
def authorization_status(request, pk):
    """One click for the payer's answer: approved, denied or back to pending."""
    authorization = get_object_or_404(Authorization.objects.select_related("course__patient"), pk=pk)
    course = authorization.course
    status = request.POST.get("status", "")
    if status not in Authorization.Status.values:
        messages.error(request, "Choose approved, denied or pending.")
        return redirect("web:course_authorizations", pk=course.pk)
    try:
        authorizations.authorization_update(authorization=authorization, by=request.user, status=status)
    except DomainError as exc:
        messages.error(request, f"{exc.detail} Edit the authorisation to give the number approved.")
    else:
        audit_record(
            request=request,
            action=Action.UPDATE,
            resource="authorization",
            patients=[course.patient],
            object_id=authorization.pk,
            detail=f"status={status}",
        )
        messages.success(request, f"{course.patient.full_name}: {authorization.payer} marked {status}.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("web:course_authorizations", args=[course.pk])
    return redirect(back)


@staff_required
def renewals(request):
    """The front desk's renewal queue: approvals to renew soonest first, then courses with none at all."""
    within_days = inputs.parse_whole_number(request.GET.get("within_days"), default=QUEUE_DAYS, maximum=MAX_QUEUE_DAYS)
    expiring = authorizations.expiring_authorizations(within_days=within_days)
    in_hand = authorizations.renewals_in_hand(expiring)
    for row in expiring:
        row.renewal = in_hand.get(row.pk)
    # A renewal already approved has done the job: off the queue.
    queue = [row for row in expiring if row.renewal is None or row.renewal.status != Authorization.Status.APPROVED]
    missing = list(authorizations.courses_without_approval())
    audit_record(
        request=request,
        action=Action.READ,
        resource="authorization",
        patients=[row.course.patient for row in queue] + [course.patient for course in missing],
    )
    return render(
        request,
        "web/authorizations/renewals.html",
        {"queue": queue, "missing": missing, "within_days": within_days},
    )


def _pdf(request, pk, *, kind: str):
    course = _course(pk)
    packet = packets.reauthorization_packet(course=course)
    if kind == "letter":
        clinician = getattr(request.user, "clinician", None)
        signed_by = clinician.name if clinician else (request.user.get_full_name() or request.user.get_username())
        content = packets.letter_pdf(packet, signed_by=signed_by)
    else:
        content = packets.packet_pdf(packet)
    audit_record(request=request, action=Action.EXPORT, resource=kind, patients=[course.patient], object_id=course.pk)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{kind}-{course.patient.mrn}.pdf"'
    return response


@never_cache
@clinician_required
def reauthorization_pdf(request, pk):
    return _pdf(request, pk, kind="reauthorization")


@never_cache
@clinician_required
def letter_pdf(request, pk):
    return _pdf(request, pk, kind="letter")


def panel_for(patient, user, course: Course | None = None) -> dict:
    """The context of `web/_authorizations.html` for the patient page: the latest course (unless given), its
    approvals and state, and whether the reader may open the packet and the letter. Three queries (course;
    approvals with their treatments), four with the state when the course needs an approval."""
    course = course or cycle_selectors.course_for_patient(patient=patient)
    if course is None:
        return {"course": None}
    course.patient = patient
    rows = _rows(course)
    return {
        "course": course,
        "rows": [row for row in rows if row.status != Authorization.Status.DENIED][:3],
        "state": authorizations.authorization_states([course])[course.pk],
        "can_export": is_clinician(user),
    }

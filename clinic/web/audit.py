"""The audit trail for clinic admins: who read or changed which patient's data, and when (DESIGN.md §6).

Search by patient (name, MRN or id), by staff username (or a patient link), by UTC date and
by action; 100 rows a page, newest first; `?format=csv` exports every matching row. The page
names patients, so looking at it is itself audited (one row per patient shown or exported).
"""

import csv
import uuid
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinic import inputs
from clinic.audit import audit_record
from clinic.models import AuditLog
from clinic.roles import CLINIC_ADMIN
from clinic.web.access import role_required
from patients import selectors as patient_selectors
from patients.models import Patient

PAGE_SIZE = 100
EXPORT_CHUNK = 2000
CSV_COLUMNS = [
    "at_utc",
    "user",
    "actor",
    "action",
    "resource",
    "object_id",
    "patient_id",
    "patient",
    "mrn",
    "client_ip",
]


class AuditSearchForm(forms.Form):
    patient = forms.CharField(label="Patient", required=False, max_length=100, help_text="name, MRN or id")
    user = forms.CharField(label="Staff user", required=False, max_length=150, help_text="username")
    date_from = inputs.DateField(label="From (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = inputs.DateField(label="To (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "any"), *AuditLog.Action.choices])

    def clean_patient(self):
        return inputs.strip_control_characters(self.cleaned_data["patient"]).strip()

    def clean_user(self):
        return inputs.strip_control_characters(self.cleaned_data["user"]).strip()

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data


def _patient_ids(term: str) -> list | None:
    """The patients a search term names: an id, or whatever the patient search finds (None: no filter)."""
    if not term:
        return None
    try:
        return [uuid.UUID(term)]
    except ValueError:
        return list(patient_selectors.patient_search(query=term).values_list("id", flat=True)[:500])


def audit_rows(data: dict):
    """The audit rows matching the search, newest first, with their users."""
    rows = AuditLog.objects.select_related("user").order_by("-at", "-id")
    patient_ids = _patient_ids(data.get("patient", ""))
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=patient_ids)
    if data.get("user"):
        rows = rows.filter(Q(user__username__icontains=data["user"]) | Q(actor__icontains=data["user"]))
    if data.get("date_from"):
        rows = rows.filter(at__gte=datetime.combine(data["date_from"], time.min, tzinfo=UTC))
    if data.get("date_to"):
        rows = rows.filter(at__lt=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=UTC))
    if data.get("action"):
        rows = rows.filter(action=data["action"])
    return rows


def _patients_by_id(rows) -> dict:
    ids = {row.patient_id for row in rows if row.patient_id}
    return {p.id: p for p in Patient.objects.filter(id__in=ids).only("id", "given_name", "family_name", "mrn")}


class _Echo:
    def write(self, value):
        return value


def _csv(request, rows):
    """Every matching row, streamed in chunks of EXPORT_CHUNK; audited first, one row per patient it names."""
    writer = csv.writer(_Echo())
    # The rows as they stand now: not the export's own audit rows, nor any written while it streams.
    newest = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    rows = rows.filter(id__lte=newest)
    named = rows.exclude(patient_id=None).order_by().values_list("patient_id", flat=True).distinct()
    audit_record(request=request, action=AuditLog.Action.EXPORT, resource="audit_log", patient_ids=list(named))
    total = rows.count()

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for start in range(0, total, EXPORT_CHUNK):
            chunk = list(rows[start : start + EXPORT_CHUNK])
            patients = _patients_by_id(chunk)
            for row in chunk:
                patient = patients.get(row.patient_id)
                yield writer.writerow(
                    [
                        row.at.astimezone(UTC).isoformat(),
                        row.user.get_username() if row.user else "",
                        row.actor,
                        row.action,
                        row.resource,
                        row.object_id,
                        row.patient_id or "",
                        patient.full_name if patient else "",
                        patient.mrn if patient else "",
                        row.client_ip or "",
                    ]
                )

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cycledesk-audit-{stamp}.csv"'
    return response


@role_required(CLINIC_ADMIN)
def audit_log(request):
    form = AuditSearchForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    rows = audit_rows(form.cleaned_data if form.is_bound else {}) if valid else AuditLog.objects.none()
    if request.GET.get("format") == "csv" and valid:
        return _csv(request, rows)
    # 1 count, 2 the page's rows with their users, 3 the patients they name, 4 this view's audit rows
    page = Paginator(rows, PAGE_SIZE).get_page(
        inputs.parse_whole_number(request.GET.get("page"), default=1, maximum=10**6)
    )
    entries = list(page.object_list)
    patients = _patients_by_id(entries)
    audit_record(request=request, action=AuditLog.Action.READ, resource="audit_log", patient_ids=list(patients))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/audit.html",
        {
            "form": form,
            "page": page,
            "entries": [(entry, patients.get(entry.patient_id)) for entry in entries],
            "query": query.urlencode(),
        },
    )

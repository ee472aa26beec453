"""Forms of the web UI. They shape input for the services; the rules stay in the services."""

import uuid
from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError

from clinic import inputs
from clinic.errors import DomainError
from clinic.timezones import local_datetime
from cycles.models import AdverseEvent, ReviewFlag, TreatmentRecord
from scheduling.models import Clinician, Location, Session


def apply_domain_error(form: forms.Form, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """The one place a service's DomainError becomes form errors: the detail on top, fields where they fit."""
    field_map = field_map or {}
    message = exc.detail
    if exc.code == "too_soon" and exc.extra.get("earliest"):
        message = f"{exc.detail} Earliest date: {exc.extra['earliest']}."
    if exc.code == "not_eligible" and exc.extra.get("reasons"):
        message = f"{exc.detail} " + " ".join(exc.extra["reasons"])
    form.add_error(None, message)
    for name, messages in (exc.fields or {}).items():
        target = field_map.get(name, name.rsplit(".", 1)[-1])
        if target in form.fields:
            for text in messages:
                form.add_error(target, text)


def slot_value(clinician_id, start: datetime) -> str:
    return f"{clinician_id}|{start.astimezone(UTC).isoformat()}"


class SlotPickForm(forms.Form):
    """A proposed free slot, or a date and time typed in; used to book and to reschedule."""

    # Not a ChoiceField: a slot taken since the page was shown must reach the booking
    # service, whose answer (slot_unavailable) is the message the front desk should read.
    slot = forms.CharField(label="Free slot", required=False, widget=forms.RadioSelect)
    clinician = forms.ModelChoiceField(label="Clinician", queryset=Clinician.objects.none(), required=False)
    on_date = inputs.DateField(label="Or another date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    at_time = forms.TimeField(label="Time", required=False, widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, location: Location, slot_choices, clinicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.location = location
        self.fields["slot"].widget.choices = slot_choices
        self.fields["clinician"].queryset = clinicians
        self.fields["clinician"].label_from_instance = lambda c: c.name

    def clean(self):
        data = super().clean()
        if data.get("on_date") or data.get("at_time"):
            if not (data.get("on_date") and data.get("at_time") and data.get("clinician")):
                raise ValidationError("For another time, give the clinician, the date and the time.")
            data["start"] = local_datetime(data["on_date"], data["at_time"], self.location.zone)
            return data
        if not data.get("slot"):
            raise ValidationError("Choose a free slot, or give another date and time.")
        try:
            clinician_id, iso = data["slot"].split("|", 1)
            start = datetime.fromisoformat(iso)
            clinician = self.fields["clinician"].queryset.filter(pk=uuid.UUID(clinician_id)).first()
        except ValueError:
            raise ValidationError("Choose a free slot from the list.") from None
        if clinician is None or start.tzinfo is None:
            raise ValidationError("Choose a free slot from the list.")
        data["clinician"] = clinician
        data["start"] = start
        return data


class BookingForm(SlotPickForm):
    kind = forms.ChoiceField(label="Kind of session", choices=Session.Kind.choices, initial=Session.Kind.TREATMENT)
    override_reason = forms.CharField(
        label="Clinical override reason (clinicians only)",
        required=False,
        max_length=500,
        widget=forms.TextInput(),
        help_text="Books a treatment before the minimum interval or without eligibility; audited.",
    )

    field_order = ["kind", "slot", "clinician", "on_date", "at_time", "override_reason"]

    def __init__(self, *args, allow_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not allow_override:
            del self.fields["override_reason"]


class CancelForm(forms.Form):
    reason = forms.CharField(label="Reason for cancelling", max_length=500, required=False)


class ResolveFlagForm(forms.Form):
    decision = forms.ChoiceField(label="Decision", choices=ReviewFlag.Decision.choices)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))


MUSCLE_LABELS = {
    "corrugator": "Corrugator",
    "procerus": "Procerus",
    "frontalis": "Frontalis",
    "temporalis": "Temporalis",
    "occipitalis": "Occipitalis",
    "cervical_paraspinal": "Cervical paraspinal",
    "trapezius": "Trapezius",
}
UNITS_PER_SITE = 5  # PREEMPT


class TreatmentForm(forms.Form):
    """Pre-filled with the PREEMPT template: 155 U at 31 sites, 5 U per site."""

    sites = forms.IntegerField(label="Injection sites", min_value=1)
    units_wasted = forms.IntegerField(label="Units wasted", min_value=0, initial=0)
    lot_number = forms.CharField(label="Lot number", max_length=64)
    lot_expiry = inputs.DateField(label="Lot expiry", widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for muscle in TreatmentRecord.MUSCLES:
            self.fields[f"units_{muscle}"] = forms.IntegerField(
                label=f"{MUSCLE_LABELS[muscle]} (U)",
                min_value=0,
                initial=TreatmentRecord.STANDARD_UNITS[muscle],
                widget=forms.NumberInput(attrs={"data-units": muscle, "step": 1, "inputmode": "numeric"}),
            )
        self.fields["sites"].initial = sum(TreatmentRecord.STANDARD_UNITS.values()) // UNITS_PER_SITE

    def muscle_rows(self):
        return [
            (self[f"units_{m}"], TreatmentRecord.STANDARD_UNITS[m] // UNITS_PER_SITE, TreatmentRecord.STANDARD_UNITS[m])
            for m in TreatmentRecord.MUSCLES
        ]

    def treatment(self) -> dict:
        data = self.cleaned_data
        return {
            "units_by_muscle": {m: data[f"units_{m}"] for m in TreatmentRecord.MUSCLES},
            "sites": data["sites"],
            "units_wasted": data["units_wasted"],
            "lot_number": data["lot_number"],
            "lot_expiry": data["lot_expiry"],
        }


class AdverseEventForm(forms.Form):
    kind = forms.ChoiceField(label="Adverse event", choices=[("", "—"), *AdverseEvent.Kind.choices], required=False)
    severity = forms.ChoiceField(label="Severity", choices=[("", "—"), *AdverseEvent.Severity.choices], required=False)
    note = forms.CharField(label="Note", required=False, max_length=500)

    def clean(self):
        data = super().clean()
        if data.get("kind") and not data.get("severity"):
            self.add_error("severity", "Give the severity.")
        if data.get("severity") and not data.get("kind"):
            self.add_error("kind", "Give the kind of event.")
        return data


AdverseEventFormSet = forms.formset_factory(AdverseEventForm, extra=2, max_num=10)

"""Forms of the web UI. They shape input for the services; the rules stay in the services.

A service's `DomainError` reaches the user in one way: `domain_error_message` writes its
text (with the figures a refusal carries), `apply_domain_error` puts it on a form, and
`flash_domain_error` shows it as a message for the buttons that have no form page.
"""

import uuid
from datetime import UTC, datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError

from clinic import inputs
from clinic.errors import DomainError
from clinic.inputs import MAX_YEAR, MIN_YEAR
from clinic.timezones import iana_time_zones, local_datetime
from clinic.web import display
from clinic.web.labels import label
from cycles.models import AdverseEvent, ReviewFlag, TreatmentRecord
from patients.api.serializers import PatientSerializer
from patients.models import Patient
from scheduling.models import Clinician, Location, Session

OTHER_TIME = "other"
# A `YYYY-MM-DD` from a query string, or None when absent, malformed or outside 1900–2200 (never a 500).
parse_day = inputs.parse_date


class BoundedDateField(forms.DateField):
    # A date input takes YYYY-MM-DD whatever the locale's format.
    widget = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})

    def validate(self, value):
        super().validate(value)
        if value and not (MIN_YEAR <= value.year <= MAX_YEAR):
            raise ValidationError(f"Give a date between {MIN_YEAR} and {MAX_YEAR}.")


def domain_error_message(exc: DomainError) -> str:
    message = exc.detail
    if exc.code == "too_soon" and exc.extra.get("earliest"):
        message = f"{exc.detail} Earliest date: {display.day_text(exc.extra['earliest'])}."
    if exc.code == "not_eligible" and exc.extra.get("reasons"):
        message = f"{exc.detail} " + " ".join(exc.extra["reasons"])
    return message


def apply_domain_error(form: forms.Form, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """The one place a service's DomainError becomes form errors: the detail on top, fields where they fit."""
    field_map = field_map or {}
    form.add_error(None, domain_error_message(exc))
    for name, texts in (exc.fields or {}).items():
        target = field_map.get(name, name.rsplit(".", 1)[-1])
        if target in form.fields:
            for text in texts:
                form.add_error(target, text)


def flash_domain_error(request, exc: DomainError) -> None:
    """For a button with no form page of its own (check in, no-show, undo, resolve): the same words."""
    messages.error(request, domain_error_message(exc))


def slot_value(clinician_id, start: datetime) -> str:
    return f"{clinician_id}|{start.astimezone(UTC).isoformat()}"


def parse_slot_value(value: str) -> tuple[uuid.UUID, datetime] | None:
    try:
        clinician_id, iso = value.split("|", 1)
        start = datetime.fromisoformat(iso)
        return uuid.UUID(clinician_id), start
    except (ValueError, AttributeError):
        return None


class SlotPickForm(forms.Form):
    """One choice: a proposed free slot, or "another time" with its clinician, date and time."""

    # Not a ChoiceField: a slot taken since the page was shown must reach the booking
    # service, whose answer (slot_unavailable) is the message the front desk should read.
    slot = forms.CharField(label="When", required=False)
    clinician = forms.ModelChoiceField(label="Clinician", queryset=Clinician.objects.none(), required=False)
    on_date = BoundedDateField(label="Date", required=False)
    at_time = forms.TimeField(label="Time", required=False, widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, location: Location, clinicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.location = location
        self.fields["clinician"].queryset = clinicians
        self.fields["clinician"].label_from_instance = lambda c: c.name

    def clean(self):
        data = super().clean()
        choice = data.get("slot") or ""
        if choice == OTHER_TIME:
            missing = [name for name in ("clinician", "on_date", "at_time") if not data.get(name)]
            for name in missing:
                if name not in self.errors:
                    self.add_error(name, "Needed for another time.")
            if missing:
                return data
            data["start"] = local_datetime(data["on_date"], data["at_time"], self.location.zone)
            return data
        if not choice:
            raise ValidationError("Choose a free slot, or “Another time” and give the clinician, date and time.")
        parsed = parse_slot_value(choice)
        clinician = None
        if parsed is not None:
            clinician = self.fields["clinician"].queryset.filter(pk=parsed[0]).first()
        if parsed is None or clinician is None or parsed[1].tzinfo is None:
            raise ValidationError("Choose a free slot from the list.")
        data["clinician"] = clinician
        data["start"] = parsed[1]
        return data


class BookingForm(SlotPickForm):
    kind = forms.ChoiceField(label="Kind of session", initial=Session.Kind.TREATMENT)
    override_reason = forms.CharField(
        label="Clinical override reason",
        required=False,
        max_length=500,
        help_text=(
            "Only to book a treatment before the minimum interval, without eligibility or outside the prior "
            "authorisation; audited."
        ),
    )

    field_order = ["kind", "slot", "clinician", "on_date", "at_time", "override_reason"]

    def __init__(self, *args, allow_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, label(k)) for k in Session.Kind.values]
        if not allow_override:
            del self.fields["override_reason"]


CANCEL_REASONS = [
    "The patient rang to cancel",
    "The patient is unwell",
    "The clinician is unavailable",
    "Booked in error",
]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why is it cancelled?",
        max_length=500,
        widget=forms.TextInput(attrs={"list": "cancel-reasons", "autocomplete": "off"}),
        error_messages={"required": "Give the reason for cancelling."},
    )


class ResolveFlagForm(forms.Form):
    decision = forms.ChoiceField(label="Decision", error_messages={"required": "Choose a decision."})
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No preselected decision: the clinician chooses every time.
        self.fields["decision"].choices = [("", "Choose…"), *((d, label(d)) for d in ReviewFlag.Decision.values)]


UNITS_PER_SITE = 5  # PREEMPT


class TreatmentForm(forms.Form):
    """Pre-filled with the PREEMPT template: 155 U at 31 sites, 5 U per site."""

    sites = forms.IntegerField(label="Injection sites", min_value=1, max_value=60)
    units_wasted = forms.IntegerField(label="Units wasted", min_value=0, max_value=400, initial=0)
    lot_number = forms.CharField(label="Lot number", max_length=64)
    lot_expiry = BoundedDateField(label="Lot expiry")
    deviation_reason = forms.CharField(
        label="Reason for departing from the template",
        required=False,
        max_length=1000,
        help_text="Needed when the units differ from PREEMPT beyond follow-the-pain; kept on the record.",
    )
    override_reason = forms.CharField(
        label="Clinical override reason",
        required=False,
        max_length=500,
        help_text="Only to treat outside the course's prior authorisation; audited.",
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for muscle in TreatmentRecord.MUSCLES:
            self.fields[f"units_{muscle}"] = forms.IntegerField(
                label=f"{label(muscle)} (U)",
                min_value=0,
                max_value=200,
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
            **({"deviation_reason": data["deviation_reason"]} if data.get("deviation_reason") else {}),
        }


def _event_choices(model_choices) -> list:
    return [("", "—"), *((value, label(value)) for value in model_choices)]


class AdverseEventForm(forms.Form):
    kind = forms.ChoiceField(label="Adverse event", required=False)
    severity = forms.ChoiceField(label="Severity", required=False)
    note = forms.CharField(label="Note", required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _event_choices(AdverseEvent.Kind.values)
        self.fields["severity"].choices = _event_choices(AdverseEvent.Severity.values)

    def clean(self):
        data = super().clean()
        if data.get("kind") and not data.get("severity"):
            self.add_error("severity", "Give the severity.")
        if data.get("severity") and not data.get("kind"):
            self.add_error("kind", "Give the kind of event.")
        return data

    def event(self) -> dict:
        return {k: self.cleaned_data.get(k, "") for k in ("kind", "severity", "note")}


AdverseEventFormSet = forms.formset_factory(AdverseEventForm, extra=2, max_num=10)


class LateAdverseEventForm(AdverseEventForm):
    """An adverse event the patient reports after the visit (a phone call days later)."""

    onset_on = BoundedDateField(label="Began on", required=False)

    def event(self) -> dict:
        return {**super().event(), "onset_on": self.cleaned_data.get("onset_on")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].required = True
        self.fields["severity"].required = True
        self.fields["kind"].error_messages["required"] = "Give the kind of event."
        self.fields["severity"].error_messages["required"] = "Give the severity."


ZONE_CHOICES = [(zone, zone.replace("_", " ")) for zone in iana_time_zones() if "/" in zone]


class PatientForm(forms.Form):
    """Contact, consent, zone and status. Validated by the API's own serializer, so both refuse the same."""

    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    mrn = forms.CharField(label="MRN", max_length=32)
    date_of_birth = BoundedDateField(label="Date of birth")
    phone = forms.CharField(
        label="Mobile phone",
        required=False,
        max_length=32,
        help_text="National or international, e.g. +44 20 7946 0958",
    )
    email = forms.CharField(label="Email", required=False, max_length=254, widget=forms.EmailInput())
    time_zone = forms.ChoiceField(label="Time zone", choices=ZONE_CHOICES)
    email_opt_in = forms.BooleanField(label="Email reminders", required=False)
    sms_opt_in = forms.BooleanField(label="SMS reminders", required=False)
    status = forms.ChoiceField(label="Status")

    def __init__(self, *args, instance: Patient | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(instance, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(s, label(s)) for s in Patient.Status.values]

    def clean(self):
        data = super().clean()
        # The serializer judges what the form could read, so every error shows in one round.
        partial = self.instance is not None or bool(self.errors)
        serializer = PatientSerializer(self.instance, data=data, partial=partial)
        if not serializer.is_valid() or self.errors:
            for name, texts in serializer.errors.items():
                target = name if name in self.fields else None
                if target in self.errors:
                    continue
                for text in texts:
                    self.add_error(target, str(text))
            return data
        # Only what changed is written, so the audit and updated_at mean something.
        validated = dict(serializer.validated_data)
        if self.instance is not None:
            validated = {k: v for k, v in validated.items() if getattr(self.instance, k) != v}
        self.changes = validated
        return data


class CalendarBookForm(forms.Form):
    """Booking from an empty slot of the day view: the slot is given, the desk picks the patient."""

    patient = forms.UUIDField(widget=forms.HiddenInput, error_messages={"required": "Choose the patient."})
    clinician = forms.UUIDField(widget=forms.HiddenInput)
    start = forms.DateTimeField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(label="Kind of session", initial=Session.Kind.TREATMENT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, label(k)) for k in Session.Kind.values]

    def clean_start(self):
        start = self.cleaned_data["start"]
        if start.tzinfo is None or not (MIN_YEAR <= start.year <= MAX_YEAR):
            raise ValidationError("Choose a slot from the calendar.")
        return start

"""Clinic set-up in the Django admin: locations, clinicians, their hours and time off. Sessions
are shown read-only to superusers, every view audited (clinic/admin_site.py)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from clinic.admin_site import AuditedReadOnlyAdmin
from clinic.timezones import iana_time_zones
from patients.contact import normalise_phone
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours


class LocationForm(forms.ModelForm):
    """Time zones from a select of IANA names only (a zone typed as "New York" once took the day view down
    for everyone); the phone read like a patient's (E.164)."""

    time_zone = forms.ChoiceField(choices=lambda: [("", "---------")] + [(z, z) for z in iana_time_zones()])

    class Meta:
        model = Location
        fields = ["name", "time_zone", "phone"]

    def clean_phone(self):
        try:
            return normalise_phone(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    form = LocationForm
    list_display = ["name", "time_zone", "phone"]
    search_fields = ["name"]


class WorkingHoursInline(admin.TabularInline):
    """The clinician's week in one form: a row per weekday (by name) and location."""

    model = WorkingHours
    extra = 0
    fields = ["weekday", "location", "start_time", "end_time"]
    ordering = ["weekday", "start_time"]


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "active"]
    list_filter = ["active", "locations"]
    search_fields = ["name"]
    filter_horizontal = ["locations"]
    inlines = [WorkingHoursInline, TimeOffInline]


@admin.register(Session)
class SessionAdmin(AuditedReadOnlyAdmin):
    list_display = ["start", "kind", "status", "patient", "clinician", "location", "cycle_number"]
    list_filter = ["status", "kind", "location"]
    date_hierarchy = "start"
    list_select_related = ["patient", "clinician", "location"]

"""Clinic set-up in the Django admin: locations, clinicians, their hours and time off. Sessions
are shown read-only to superusers, every view audited (clinic/admin_site.py)."""

from django import forms
from django.contrib import admin

from clinic.admin_site import AuditedReadOnlyAdmin
from clinic.timezones import iana_time_zones
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours


class LocationForm(forms.ModelForm):
    # A select of IANA names only: a zone typed as "New York" took the day view down for everyone.
    time_zone = forms.ChoiceField(choices=lambda: [("", "---------")] + [(z, z) for z in iana_time_zones()])

    class Meta:
        model = Location
        fields = ["name", "time_zone"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    form = LocationForm
    list_display = ["name", "time_zone"]
    search_fields = ["name"]


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


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

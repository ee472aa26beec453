from django.contrib import admin

from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
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
class SessionAdmin(admin.ModelAdmin):
    list_display = ["start", "kind", "status", "patient", "clinician", "location", "cycle_number"]
    list_filter = ["status", "kind", "location"]
    date_hierarchy = "start"
    raw_id_fields = ["patient", "course", "booked_by"]
    list_select_related = ["patient", "clinician", "location"]

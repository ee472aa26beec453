from django.contrib import admin

from scheduling.models import (
    AdverseEvent,
    Clinician,
    Course,
    Location,
    Protocol,
    Session,
    TimeOff,
    TreatmentRecord,
    WorkingHours,
)


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


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "interval_days", "min_interval_days", "max_units", "updated_at"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["id", "patient", "status", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["start", "kind", "status", "patient", "clinician", "location", "cycle_number"]
    list_filter = ["status", "kind", "location"]
    date_hierarchy = "start"
    raw_id_fields = ["patient", "course", "booked_by"]
    list_select_related = ["patient", "clinician", "location"]


@admin.register(TreatmentRecord)
class TreatmentRecordAdmin(admin.ModelAdmin):
    list_display = ["session", "total_units", "units_wasted", "lot_number", "lot_expiry"]
    raw_id_fields = ["session"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(admin.ModelAdmin):
    list_display = ["recorded_at", "kind", "severity", "patient"]
    list_filter = ["kind", "severity"]
    raw_id_fields = ["patient", "session"]

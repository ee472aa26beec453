from django.contrib import admin

from cycles.models import AdverseEvent, Course, Protocol, TreatmentRecord


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "interval_days", "min_interval_days", "max_units", "updated_at"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["id", "patient", "status", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient"]


@admin.register(TreatmentRecord)
class TreatmentRecordAdmin(admin.ModelAdmin):
    list_display = ["session", "total_units", "units_wasted", "lot_number", "lot_expiry"]
    raw_id_fields = ["session"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(admin.ModelAdmin):
    list_display = ["recorded_at", "kind", "severity", "patient"]
    list_filter = ["kind", "severity"]
    raw_id_fields = ["patient", "session"]

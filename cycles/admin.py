"""Clinic set-up in the Django admin: protocol profiles. Courses are shown read-only and audited;
treatment records, adverse events and flags are not here (they change only through the services)."""

from django.contrib import admin

from clinic.admin_site import AuditedReadOnlyAdmin
from cycles.models import Course, Protocol


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "interval_days", "min_interval_days", "max_units", "updated_at"]


@admin.register(Course)
class CourseAdmin(AuditedReadOnlyAdmin):
    list_display = ["id", "patient", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["patient"]

"""The reminder policy is set-up; the outbox, inbound messages and patient links are shown
read-only to superusers, every view audited (clinic/admin_site.py)."""

from django.contrib import admin

from clinic.admin_site import AuditedReadOnlyAdmin
from notifications.models import InboundMessage, Notification, PatientLink, ReminderPolicy
from patients.models import Patient


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quiet_start", "quiet_end", "sms_per_day", "sms_per_week", "diary_every_days"]

    def has_add_permission(self, request) -> bool:
        return False  # one policy row (ReminderPolicy.current)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(AuditedReadOnlyAdmin):
    list_display = ["purpose", "channel", "patient", "due_at", "status", "skip_reason", "attempts", "sent_at"]
    list_filter = ["status", "purpose", "channel"]
    list_select_related = ["patient"]


@admin.register(InboundMessage)
class InboundMessageAdmin(AuditedReadOnlyAdmin):
    list_display = ["provider_message_id", "from_number", "action", "patients_matched", "received_at"]

    def patient_ids(self, objs) -> list:
        # An inbound SMS names no patient: it is the patients with that phone number.
        numbers = {message.from_number for message in objs}
        return list(Patient.objects.filter(phone__in=numbers).values_list("id", flat=True)) if numbers else []


@admin.register(PatientLink)
class PatientLinkAdmin(AuditedReadOnlyAdmin):
    list_display = ["key", "kind", "patient", "session", "created_at", "used_at", "used_action"]
    list_select_related = ["patient", "session"]

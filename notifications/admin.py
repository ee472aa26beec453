from django.contrib import admin

from notifications.models import InboundMessage, Notification, PatientLink, ReminderPolicy


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quiet_start", "quiet_end", "sms_per_day", "sms_per_week", "diary_every_days"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["purpose", "channel", "patient", "due_at", "status", "skip_reason", "attempts", "sent_at"]
    list_filter = ["status", "purpose", "channel"]
    raw_id_fields = ["patient", "session", "course"]
    readonly_fields = ["dedupe_key", "provider_message_id", "claimed_at", "sent_at", "attempts", "last_error"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["provider_message_id", "from_number", "action", "patients_matched", "received_at"]
    readonly_fields = ["provider_message_id", "from_number", "body", "action", "patients_matched", "received_at"]


@admin.register(PatientLink)
class PatientLinkAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "patient", "session", "created_at", "used_at", "used_action"]
    raw_id_fields = ["patient", "session", "notification"]

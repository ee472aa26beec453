from rest_framework import serializers

from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    """Bodies are never returned: they are rendered at send time and not stored."""

    class Meta:
        model = Notification
        fields = ["id", "patient", "session", "purpose", "channel", "due_at", "status", "sent_at", "skip_reason"]
        read_only_fields = fields


class NotificationFilterSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    session = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=Notification.Status.choices, required=False)


class InboundSmsSerializer(serializers.Serializer):
    MessageSid = serializers.CharField(max_length=64)
    From = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    Body = serializers.CharField(max_length=1600, required=False, allow_blank=True, default="")

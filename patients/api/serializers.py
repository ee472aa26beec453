from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from clinic.api import fields
from clinic.timezones import validate_time_zone
from patients.contact import normalise_phone
from patients.models import DiaryEntry, Patient, PriorPreventive


def _django_to_drf(func, value):
    try:
        return func(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None


class PatientSerializer(fields.ModelSerializer):
    time_zone = fields.TimeZoneField(max_length=64, required=False)
    consent_note = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="clinician only: how a patient who texted STOP consented to SMS again (audited)",
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "given_name",
            "family_name",
            "date_of_birth",
            "email",
            "phone",
            "time_zone",
            "email_opt_in",
            "sms_opt_in",
            "status",
            "consent_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_phone(self, value: str) -> str:
        return _django_to_drf(normalise_phone, value)

    def validate_time_zone(self, value: str) -> str:
        return _django_to_drf(validate_time_zone, value)


class PreventiveSerializer(fields.ModelSerializer):
    class Meta:
        model = PriorPreventive
        fields = ["id", "drug", "started_on", "stopped_on", "outcome", "created_at"]
        read_only_fields = ["id", "created_at"]


class DiaryEntrySerializer(fields.ModelSerializer):
    headache_days = serializers.IntegerField(min_value=0, max_value=31)
    migraine_days = serializers.IntegerField(min_value=0, max_value=31)
    acute_medication_days = serializers.IntegerField(min_value=0, max_value=31, default=0)
    hit6 = serializers.IntegerField(min_value=36, max_value=78, required=False, allow_null=True)
    midas = serializers.IntegerField(min_value=0, max_value=270, required=False, allow_null=True)

    class Meta:
        model = DiaryEntry
        fields = [
            "id",
            "period_start",
            "period_end",
            "headache_days",
            "migraine_days",
            "acute_medication_days",
            "hit6",
            "midas",
            "source",
            "created_at",
        ]
        read_only_fields = ["id", "source", "created_at"]

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from clinic.api.fields import AwareDateTimeField, DateField, TimeOfDayField, TimeZoneField
from clinic.timezones import validate_time_zone
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours


class LocationSerializer(serializers.ModelSerializer):
    time_zone = TimeZoneField(max_length=64)

    class Meta:
        model = Location
        fields = ["id", "name", "time_zone"]
        read_only_fields = ["id"]

    def validate_time_zone(self, value: str) -> str:
        try:
            return validate_time_zone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class ClinicianSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all(), allow_null=True, required=False)
    locations = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), many=True, required=False)

    class Meta:
        model = Clinician
        fields = ["id", "name", "user", "locations", "active"]
        read_only_fields = ["id"]


class WorkingHoursSerializer(serializers.ModelSerializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    start_time = TimeOfDayField()
    end_time = TimeOfDayField()

    class Meta:
        model = WorkingHours
        fields = ["id", "clinician", "location", "weekday", "start_time", "end_time"]
        read_only_fields = ["id", "clinician"]

    def validate(self, attrs):
        if attrs["end_time"] <= attrs["start_time"]:
            raise serializers.ValidationError({"end_time": ["Must be after start_time."]})
        return attrs


class TimeOffSerializer(serializers.ModelSerializer):
    start = AwareDateTimeField()
    end = AwareDateTimeField()

    class Meta:
        model = TimeOff
        fields = ["id", "clinician", "start", "end", "reason"]
        read_only_fields = ["id", "clinician"]

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class SlotQuerySerializer(serializers.Serializer):
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), required=False)
    clinician = serializers.PrimaryKeyRelatedField(queryset=Clinician.objects.all(), required=False)
    # `from` is a Python keyword: the view maps it.
    from_date = DateField(required=False)
    to_date = DateField(required=False)
    kind = serializers.ChoiceField(choices=Session.Kind.choices, default=Session.Kind.TREATMENT)


class SlotSerializer(serializers.Serializer):
    clinician = serializers.UUIDField(source="clinician_id")
    location = serializers.UUIDField(source="location_id")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()

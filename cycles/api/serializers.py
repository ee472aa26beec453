from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.api.fields import AwareDateTimeField, DateField
from cycles.models import AdverseEvent, Protocol, TreatmentRecord
from patients import response
from patients.models import Patient
from scheduling.models import Clinician, Location, Session


class ProtocolSerializer(serializers.ModelSerializer):
    interval_days = serializers.IntegerField(min_value=1, max_value=365)
    min_interval_days = serializers.IntegerField(min_value=0, max_value=365)
    window_days = serializers.IntegerField(min_value=0, max_value=365)
    session_minutes = serializers.IntegerField(min_value=5, max_value=480)
    review_after_sessions = serializers.IntegerField(min_value=1, max_value=50)
    response_threshold_pct = serializers.IntegerField(min_value=1, max_value=100)
    standard_units = serializers.IntegerField(min_value=1, max_value=1000)
    max_units = serializers.IntegerField(min_value=1, max_value=1000)
    cumulative_limit_units = serializers.IntegerField(min_value=1, max_value=5000)
    cumulative_limit_days = serializers.IntegerField(min_value=1, max_value=365)
    min_failed_preventives = serializers.IntegerField(min_value=0, max_value=20)

    class Meta:
        model = Protocol
        fields = [
            "id",
            "name",
            "interval_days",
            "min_interval_days",
            "window_days",
            "session_minutes",
            "review_after_sessions",
            "response_threshold_pct",
            "standard_units",
            "max_units",
            "cumulative_limit_units",
            "cumulative_limit_days",
            "auto_book",
            "min_failed_preventives",
            "chronic_min_headache_days",
            "chronic_min_migraine_days",
            "episodic_max_headache_days",
            "episodic_periods",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]


@extend_schema_field(
    {
        "type": "object",
        "properties": {m: {"type": "integer", "minimum": 0, "maximum": 1000} for m in TreatmentRecord.MUSCLES},
        "additionalProperties": False,
        # Some units given: at least one muscle above 0.
        "anyOf": [{"required": [m], "properties": {m: {"minimum": 1}}} for m in TreatmentRecord.MUSCLES],
    }
)
class UnitsByMuscleField(serializers.DictField):
    """Units per PREEMPT muscle group: the schema names the seven keys, as the validation does."""


class TreatmentInputSerializer(serializers.Serializer):
    units_by_muscle = UnitsByMuscleField(child=serializers.IntegerField(min_value=0, max_value=1000))
    sites = serializers.IntegerField(min_value=1, max_value=100, required=False)
    units_wasted = serializers.IntegerField(min_value=0, max_value=1000, default=0)
    lot_number = serializers.CharField(max_length=64)
    lot_expiry = DateField()

    def validate_units_by_muscle(self, value: dict) -> dict:
        unknown = sorted(set(value) - set(TreatmentRecord.MUSCLES))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown muscle group(s): {', '.join(unknown)}. Use {', '.join(TreatmentRecord.MUSCLES)}."
            )
        if not value or sum(value.values()) <= 0:
            raise serializers.ValidationError("Record the units given.")
        return value


class AdverseEventInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AdverseEvent.Kind.choices)
    severity = serializers.ChoiceField(choices=AdverseEvent.Severity.choices)
    note = serializers.CharField(allow_blank=True, required=False, default="")


class SessionCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    clinician = serializers.PrimaryKeyRelatedField(queryset=Clinician.objects.all())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all())
    start = AwareDateTimeField()
    end = AwareDateTimeField(required=False)
    kind = serializers.ChoiceField(choices=Session.Kind.choices, default=Session.Kind.TREATMENT)
    override_reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    status = serializers.CharField(
        required=False,
        default=Session.Status.BOOKED,
        help_text='"booked" (default), or "completed" (clinician only) to record a past treatment with a '
        "`treatment` body.",
    )
    treatment = TreatmentInputSerializer(required=False)
    adverse_events = AdverseEventInputSerializer(many=True, required=False, default=list)
    notes = serializers.CharField(allow_blank=True, required=False, default="")

    def validate_status(self, value: str) -> str:
        if value not in (Session.Status.BOOKED, Session.Status.COMPLETED):
            raise serializers.ValidationError('Either "booked" or "completed".')
        return value

    def validate(self, attrs):
        if attrs["status"] == Session.Status.COMPLETED:
            if attrs["kind"] != Session.Kind.TREATMENT:
                raise serializers.ValidationError({"kind": ["Only treatments can be recorded as completed."]})
            if not attrs.get("treatment"):
                raise serializers.ValidationError({"treatment": ["Required to record a past treatment."]})
        if attrs.get("end") and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class RescheduleSerializer(serializers.Serializer):
    start = AwareDateTimeField()
    clinician = serializers.PrimaryKeyRelatedField(queryset=Clinician.objects.all(), required=False)
    override_reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="clinician only, as when booking: moves a treatment earlier than min_interval_days",
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class CompleteSerializer(serializers.Serializer):
    treatment = TreatmentInputSerializer(required=False, allow_null=True)
    adverse_events = AdverseEventInputSerializer(many=True, required=False, default=list)
    notes = serializers.CharField(allow_blank=True, required=False, default="")


class SessionSerializer(serializers.ModelSerializer):
    start_local = serializers.SerializerMethodField(help_text="start in the location's zone, with its offset")
    review_required = serializers.SerializerMethodField(
        help_text="the course waits for a clinician's review (open no_benefit flag); completing is refused"
    )

    class Meta:
        model = Session
        fields = [
            "id",
            "patient",
            "clinician",
            "location",
            "kind",
            "start",
            "end",
            "start_local",
            "status",
            "cycle_number",
            "auto_booked",
            "late",
            "course",
            "review_required",
            "override_reason",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_start_local(self, obj: Session) -> str:
        return obj.start.astimezone(obj.location.zone).isoformat()

    def get_review_required(self, obj: Session) -> bool:
        return bool(getattr(obj, "review_required", False))


class TreatmentRecordSerializer(serializers.ModelSerializer):
    waste_modifier = serializers.CharField(
        read_only=True, help_text="J0585 modifier: JW when units were wasted, else JZ"
    )

    class Meta:
        model = TreatmentRecord
        fields = [
            "id",
            "units_by_muscle",
            "sites",
            "total_units",
            "units_wasted",
            "waste_modifier",
            "lot_number",
            "lot_expiry",
            "injector",
            "notes",
            "created_at",
        ]
        read_only_fields = fields


class AdverseEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdverseEvent
        fields = ["id", "kind", "severity", "note", "recorded_at"]
        read_only_fields = fields


class ClinicalSessionSerializer(SessionSerializer):
    """The session with what was injected: for clinicians only (front desk never sees treatments)."""

    treatment = serializers.SerializerMethodField()
    adverse_events = AdverseEventSerializer(many=True, read_only=True)

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "notes", "treatment", "adverse_events"]
        read_only_fields = fields

    @extend_schema_field(TreatmentRecordSerializer(allow_null=True))
    def get_treatment(self, obj: Session) -> dict | None:
        record = getattr(obj, "treatment", None) if obj.status == Session.Status.COMPLETED else None
        return TreatmentRecordSerializer(record).data if record else None


class RateSerializer(serializers.Serializer):
    headache_days_per_28 = serializers.FloatField(allow_null=True)
    migraine_days_per_28 = serializers.FloatField(allow_null=True)
    diary_days = serializers.IntegerField()


class CycleSerializer(serializers.Serializer):
    cycle = serializers.IntegerField()
    session = serializers.UUIDField(source="session_id", allow_null=True)
    treated_on = serializers.DateField()
    window_end = serializers.DateField()
    headache_days_per_28 = serializers.FloatField(source="rate.headache_days_per_28", allow_null=True)
    diary_days = serializers.IntegerField(source="rate.diary_days")
    reduction_pct = serializers.FloatField(allow_null=True)
    assessment = serializers.ChoiceField(choices=[a.value for a in response.Assessment])


class ResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s.value for s in response.ResponseStatus])
    baseline = RateSerializer()
    threshold_pct = serializers.IntegerField()
    cycles = CycleSerializer(many=True)


class EligibilitySerializer(serializers.Serializer):
    chronic_migraine = serializers.BooleanField()
    baseline = RateSerializer()
    failed_preventives = serializers.IntegerField()
    meets_protocol = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())

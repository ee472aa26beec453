from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.api.fields import AwareDateTimeField
from cycles.models import AdverseEvent, Course, Protocol, TreatmentRecord
from patients import response
from patients.models import Patient
from scheduling.models import Clinician, Location, Session


class ProtocolSerializer(serializers.ModelSerializer):
    is_default = serializers.BooleanField(required=False, help_text="true moves the default profile here")
    interval_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    min_interval_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    window_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    session_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)
    review_after_sessions = serializers.IntegerField(min_value=1, max_value=50, required=False)
    response_threshold_pct = serializers.IntegerField(min_value=1, max_value=100, required=False)
    standard_units = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    max_units = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    cumulative_limit_units = serializers.IntegerField(min_value=1, max_value=5000, required=False)
    cumulative_limit_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    min_failed_preventives = serializers.IntegerField(min_value=0, max_value=20, required=False)
    chronic_min_headache_days = serializers.IntegerField(min_value=0, max_value=28, required=False)
    chronic_min_migraine_days = serializers.IntegerField(min_value=0, max_value=28, required=False)
    min_baseline_diary_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    min_cycle_diary_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    baseline_window_days = serializers.IntegerField(min_value=28, max_value=365, required=False)
    assessment_after_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    episodic_threshold_days = serializers.IntegerField(min_value=1, max_value=28, required=False)
    episodic_min_diary_days = serializers.IntegerField(min_value=3, max_value=365, required=False)
    overuse_acute_days = serializers.IntegerField(min_value=1, max_value=28, required=False)
    urgent_adverse_events = serializers.ListField(
        child=serializers.ChoiceField(choices=AdverseEvent.Kind.choices), allow_empty=True, required=False
    )
    units_per_site = serializers.IntegerField(min_value=1, max_value=50, required=False)
    backfill_offers = serializers.IntegerField(min_value=0, max_value=20, required=False)
    backfill_min_notice_hours = serializers.IntegerField(min_value=0, max_value=24 * 30, required=False)

    class Meta:
        model = Protocol
        fields = [
            "id",
            "name",
            "is_default",
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
            "min_baseline_diary_days",
            "min_cycle_diary_days",
            "baseline_window_days",
            "assessment_after_days",
            "response_metric",
            "episodic_threshold_days",
            "episodic_min_diary_days",
            "overuse_acute_days",
            "urgent_adverse_events",
            "requires_authorization",
            "units_per_site",
            "backfill_offers",
            "backfill_min_notice_hours",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        # "Exactly one default" is kept by the service, which moves the mark (API.md), not refused here.
        validators = []


class CourseSerializer(serializers.ModelSerializer):
    started_on = serializers.DateField(allow_null=True, help_text="local date of the course's first treatment")
    cycles_completed = serializers.IntegerField()
    last_treatment = serializers.DateField(allow_null=True, help_text="local date of its latest treatment")
    due_from = serializers.DateField(allow_null=True)
    due_by = serializers.DateField(allow_null=True)

    class Meta:
        model = Course
        fields = [
            "id",
            "patient",
            "protocol",
            "status",
            "started_on",
            "cycles_completed",
            "last_treatment",
            "due_from",
            "due_by",
            "created_at",
            "stopped_at",
        ]
        read_only_fields = fields


class CourseUpdateSerializer(serializers.Serializer):
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.all(), required=False)
    status = serializers.ChoiceField(choices=[Course.Status.ACTIVE, Course.Status.PAUSED], required=False)


class CourseQuerySerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=Course.Status.choices, required=False)


class VialSerializer(serializers.Serializer):
    size_units = serializers.ChoiceField(choices=[100, 200])
    lot_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    lot_expiry = serializers.DateField(required=False, allow_null=True, default=None)


class TreatmentInputSerializer(serializers.Serializer):
    units_by_muscle = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=1000))
    sites = serializers.IntegerField(min_value=1, max_value=200, required=False)
    units_wasted = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, help_text="computed from `vials` when they are given"
    )
    lot_number = serializers.CharField(max_length=64)
    lot_expiry = serializers.DateField()
    vials = VialSerializer(many=True, required=False)
    deviation_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="why a record departs from the PREEMPT template (kept on the record, audited)",
    )

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
    """A session as every staff role sees it: no clinical marker (DESIGN.md §6)."""

    start_local = serializers.SerializerMethodField(help_text="start in the location's zone, with its offset")

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
            "override_reason",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_start_local(self, obj: Session) -> str:
        return obj.start.astimezone(obj.location.zone).isoformat()


class ClaimLineSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="CPT 64615 or HCPCS J0585")
    modifier = serializers.CharField(required=False, help_text="JW (units discarded) or JZ (none discarded)")
    units = serializers.IntegerField(required=False)


class VialOutSerializer(serializers.Serializer):
    size_units = serializers.IntegerField()
    lot_number = serializers.CharField()
    lot_expiry = serializers.DateField(allow_null=True)


class AdverseEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdverseEvent
        fields = ["id", "kind", "severity", "note", "onset_on", "reported_late", "recorded_at"]
        read_only_fields = fields


class TreatmentRecordSerializer(serializers.ModelSerializer):
    waste_modifier = serializers.CharField(
        read_only=True, help_text="J0585 modifier: JW when units were wasted, else JZ"
    )
    vials = VialOutSerializer(many=True, read_only=True)
    billing = ClaimLineSerializer(many=True, read_only=True)

    class Meta:
        model = TreatmentRecord
        fields = [
            "id",
            "units_by_muscle",
            "sites",
            "total_units",
            "units_wasted",
            "waste_modifier",
            "vials",
            "lot_number",
            "lot_expiry",
            "deviation_reason",
            "billing",
            "injector",
            "notes",
            "created_at",
        ]
        read_only_fields = fields


class TreatmentDetailSerializer(TreatmentRecordSerializer):
    """GET /sessions/{id}/treatment/: the record with the session's adverse events (clinicians only)."""

    adverse_events = serializers.SerializerMethodField()

    class Meta(TreatmentRecordSerializer.Meta):
        fields = [*TreatmentRecordSerializer.Meta.fields, "adverse_events"]
        read_only_fields = fields

    @extend_schema_field(AdverseEventSerializer(many=True))
    def get_adverse_events(self, obj: TreatmentRecord) -> list:
        return AdverseEventSerializer(obj.session.adverse_events.all(), many=True).data


class LateAdverseEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AdverseEvent.Kind.choices)
    severity = serializers.ChoiceField(choices=AdverseEvent.Severity.choices)
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)
    onset_on = serializers.DateField(required=False, allow_null=True, default=None)


class ClinicalSessionSerializer(SessionSerializer):
    """The session with what was injected and the course's review marker: for clinicians only (front desk
    never sees treatments nor anything derived from them)."""

    review_required = serializers.SerializerMethodField(
        help_text="the course waits for a clinician's review (open no_benefit flag); completing is refused"
    )
    treatment = serializers.SerializerMethodField()
    adverse_events = AdverseEventSerializer(many=True, read_only=True)

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "review_required", "notes", "treatment", "adverse_events"]
        read_only_fields = fields

    def get_review_required(self, obj: Session) -> bool:
        return bool(getattr(obj, "review_required", False))

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
    migraine_days_per_28 = serializers.FloatField(source="rate.migraine_days_per_28", allow_null=True)
    diary_days = serializers.IntegerField(source="rate.diary_days")
    reduction_pct = serializers.FloatField(allow_null=True, help_text="on the protocol's response_metric")
    assessment = serializers.ChoiceField(choices=[a.value for a in response.Assessment])
    final = serializers.BooleanField(
        help_text="the next treatment has been given, or assessment_after_days have passed since this one"
    )


class ResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s.value for s in response.ResponseStatus])
    baseline = RateSerializer()
    threshold_pct = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=[m.value for m in response.Metric])
    course = serializers.UUIDField(allow_null=True, required=False)
    cycles = CycleSerializer(many=True)


class EligibilitySerializer(serializers.Serializer):
    chronic_migraine = serializers.BooleanField()
    baseline = RateSerializer()
    failed_preventives = serializers.IntegerField()
    medication_overuse = serializers.BooleanField(
        help_text="acute-medication days per 28 over the latest 84 days of diary ≥ overuse_acute_days"
    )
    acute_medication_days_per_28 = serializers.FloatField(allow_null=True)
    meets_protocol = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())

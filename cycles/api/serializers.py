import re
from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.api.fields import AwareDateTimeField, DateField
from cycles.models import AdverseEvent, Authorization, Course, Protocol, TreatmentRecord
from patients import response
from scheduling.models import Clinician, Session


class ProtocolSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, help_text="unique among the profiles, e.g. the payer's name")
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
            "diagnosis_code",
            "referring_clinician",
            "created_at",
            "stopped_at",
        ]
        read_only_fields = fields


# ICD-10-CM: a letter, a digit, a digit or letter, then after the dot up to four more (G43.709).
ICD10CM = r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$"
# What the field takes before it is trimmed and upper-cased (declared in the schema as it is checked).
ICD10CM_INPUT = r"^\s*[A-Za-z][0-9][0-9A-Za-z](\.[0-9A-Za-z]{1,4})?\s*$"


class CourseUpdateSerializer(serializers.Serializer):
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.all(), required=False)
    status = serializers.ChoiceField(choices=[Course.Status.ACTIVE, Course.Status.PAUSED], required=False)
    diagnosis_code = serializers.RegexField(
        ICD10CM_INPUT,
        max_length=8,
        required=False,
        trim_whitespace=False,
        error_messages={"invalid": "An ICD-10-CM code such as G43.709."},
        help_text="ICD-10-CM, e.g. G43.709 (chronic migraine without aura)",
    )
    referring_clinician = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_diagnosis_code(self, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(ICD10CM, code):
            raise serializers.ValidationError("An ICD-10-CM code such as G43.709.")
        return code


def _in_years(value: date) -> date:
    if not 1900 <= value.year <= 2200:
        raise serializers.ValidationError("A date between the years 1900 and 2200.")
    return value


class AuthorizationSerializer(serializers.ModelSerializer):
    patient = serializers.UUIDField(source="course.patient_id", read_only=True)
    treatments_used = serializers.IntegerField(
        read_only=True, help_text="the course's completed and active treatments whose local date falls inside it"
    )
    treatments_left = serializers.IntegerField(read_only=True)
    expiring = serializers.BooleanField(
        source="is_expiring", read_only=True, help_text="approved, and ending within 30 days or one treatment left"
    )
    expiring_since = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="when the daily job first marked it expiring"
    )
    renew_by = serializers.DateField(
        read_only=True, help_text="valid_to, or sooner the due date of the first treatment it has no room for"
    )

    class Meta:
        model = Authorization
        fields = [
            "id",
            "course",
            "patient",
            "payer",
            "reference",
            "status",
            "treatments_approved",
            "units_approved",
            "valid_from",
            "valid_to",
            "notes",
            "treatments_used",
            "treatments_left",
            "expiring",
            "expiring_since",
            "renew_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AuthorizationInputSerializer(serializers.Serializer):
    """POST (a new authorisation) and PATCH (partial: only the fields sent)."""

    payer = serializers.CharField(max_length=100)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=Authorization.Status.choices, required=False, default="pending")
    treatments_approved = serializers.IntegerField(min_value=0, max_value=52, required=False, default=0)
    units_approved = serializers.IntegerField(
        min_value=1, max_value=10000, required=False, allow_null=True, default=None
    )
    valid_from = serializers.DateField(validators=[_in_years])
    valid_to = serializers.DateField(validators=[_in_years])
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "valid_from" in attrs and "valid_to" in attrs and attrs["valid_to"] < attrs["valid_from"]:
            raise serializers.ValidationError({"valid_to": ["Must be on or after valid_from."]})
        return attrs


class AuthorizationQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Authorization.Status.choices, required=False)
    expiring_within_days = serializers.IntegerField(
        min_value=0,
        max_value=366,
        required=False,
        help_text="approved, still valid, and ending within this many days or with one treatment left "
        "(soonest to renew first)",
    )
    course = serializers.UUIDField(required=False)
    patient = serializers.UUIDField(required=False)


class CourseQuerySerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=Course.Status.choices, required=False)


class VialSerializer(serializers.Serializer):
    size_units = serializers.ChoiceField(choices=[100, 200])
    lot_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    lot_expiry = DateField(required=False, allow_null=True, default=None)


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
    sites = serializers.IntegerField(min_value=1, max_value=200, required=False)
    units_wasted = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, help_text="computed from `vials` when they are given"
    )
    lot_number = serializers.CharField(max_length=64)
    lot_expiry = DateField()
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
    # Ids, not rows: the booking reads the rows in the queries it makes anyway (an unknown one is a 400
    # naming the field, as here), so the hot path makes no lookup of its own.
    patient = serializers.UUIDField()
    clinician = serializers.UUIDField()
    location = serializers.UUIDField()
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
    override_reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="gives a treatment outside the course's prior authorisation (audited); the reason the "
        "session was booked with holds too",
    )


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
    onset_on = DateField(required=False, allow_null=True, default=None)


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


# --- the reauthorisation packet (cycles.packets.reauthorization_packet) ---------------------------------


class ClinicSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField(allow_blank=True)


class PacketPatientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    mrn = serializers.CharField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    name = serializers.CharField()
    date_of_birth = serializers.DateField()


class PacketCourseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    started_on = serializers.DateField(allow_null=True)
    cycles_completed = serializers.IntegerField()
    referring_clinician = serializers.CharField(allow_blank=True)


class PacketProtocolSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    response_metric = serializers.CharField()
    response_threshold_pct = serializers.IntegerField()
    requires_authorization = serializers.BooleanField()


class PacketBaselineSerializer(serializers.Serializer):
    headache_days_per_28 = serializers.FloatField(allow_null=True)
    migraine_days_per_28 = serializers.FloatField(allow_null=True)
    diary_days = serializers.IntegerField()
    window_from = serializers.DateField()
    window_to = serializers.DateField()


class PacketCycleSerializer(serializers.Serializer):
    cycle = serializers.IntegerField()
    session = serializers.UUIDField(allow_null=True)
    treated_on = serializers.DateField()
    window_end = serializers.DateField()
    total_units = serializers.IntegerField(allow_null=True)
    headache_days_per_28 = serializers.FloatField(allow_null=True)
    migraine_days_per_28 = serializers.FloatField(allow_null=True)
    diary_days = serializers.IntegerField()
    reduction_pct = serializers.FloatField(allow_null=True, help_text="on the protocol's response_metric")
    assessment = serializers.ChoiceField(choices=[a.value for a in response.Assessment])
    final = serializers.BooleanField()


class PacketTreatmentSerializer(serializers.Serializer):
    session = serializers.UUIDField()
    treated_on = serializers.DateField()
    total_units = serializers.IntegerField()
    sites = serializers.IntegerField()
    units_wasted = serializers.IntegerField()
    lot_number = serializers.CharField()
    billing = ClaimLineSerializer(many=True)


class OutcomeSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=[m.value for m in response.Metric])
    baseline_per_28 = serializers.FloatField(allow_null=True)
    latest_per_28 = serializers.FloatField(allow_null=True, help_text="of the latest judged cycle, a final one first")
    reduction_pct = serializers.FloatField(allow_null=True)
    threshold_pct = serializers.FloatField()
    meets_threshold = serializers.BooleanField(allow_null=True, help_text="null while no cycle can be judged")
    cycle = serializers.IntegerField(allow_null=True)
    final = serializers.BooleanField(allow_null=True)


class ScoreSerializer(serializers.Serializer):
    baseline = serializers.IntegerField(allow_null=True, help_text="the latest before the first treatment")
    baseline_on = serializers.DateField(allow_null=True)
    latest = serializers.IntegerField(allow_null=True, help_text="the latest since the first treatment")
    latest_on = serializers.DateField(allow_null=True)


class PacketAuthorizationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    payer = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    treatments_approved = serializers.IntegerField()
    units_approved = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField()
    treatments_used = serializers.IntegerField()
    treatments_left = serializers.IntegerField()


class NextDueSerializer(serializers.Serializer):
    due_from = serializers.DateField(allow_null=True)
    due_by = serializers.DateField(allow_null=True)
    booked_on = serializers.DateField(allow_null=True, help_text="local date of the treatment booked next, if any")


class ReauthorizationSerializer(serializers.Serializer):
    clinic = ClinicSerializer()
    generated_on = serializers.DateField()
    patient = PacketPatientSerializer()
    course = PacketCourseSerializer()
    protocol = PacketProtocolSerializer()
    diagnosis_code = serializers.CharField(help_text="ICD-10-CM")
    baseline = PacketBaselineSerializer()
    cycles = PacketCycleSerializer(many=True)
    treatments = PacketTreatmentSerializer(many=True)
    outcome = OutcomeSerializer()
    hit6 = ScoreSerializer()
    midas = ScoreSerializer()
    authorizations = PacketAuthorizationSerializer(many=True)
    next_due = NextDueSerializer()


class LetterSerializer(ReauthorizationSerializer):
    signed_by = serializers.CharField()

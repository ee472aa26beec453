"""The treatment course and its records: protocol profiles, courses, treatments, adverse events, review flags."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Protocol(models.Model):
    """The clinic's treatment rules (DESIGN.md §2). Exactly one row is active."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, default="Chronic migraine (PREEMPT)")
    is_active = models.BooleanField(default=True)
    interval_days = models.PositiveSmallIntegerField(default=84)
    min_interval_days = models.PositiveSmallIntegerField(default=84)
    window_days = models.PositiveSmallIntegerField(default=14)
    session_minutes = models.PositiveSmallIntegerField(default=30)
    review_after_sessions = models.PositiveSmallIntegerField(default=3)
    response_threshold_pct = models.PositiveSmallIntegerField(default=30)
    standard_units = models.PositiveSmallIntegerField(default=155)
    max_units = models.PositiveSmallIntegerField(default=195)
    cumulative_limit_units = models.PositiveSmallIntegerField(default=400)
    cumulative_limit_days = models.PositiveSmallIntegerField(default=90)
    auto_book = models.BooleanField(default=True)
    min_failed_preventives = models.PositiveSmallIntegerField(default=2)
    chronic_min_headache_days = models.PositiveSmallIntegerField(default=15)
    chronic_min_migraine_days = models.PositiveSmallIntegerField(default=8)
    episodic_max_headache_days = models.PositiveSmallIntegerField(
        default=15, help_text="below this for `episodic_periods` periods in a row → consider pause"
    )
    episodic_periods = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_protocol"),
            models.CheckConstraint(
                condition=Q(response_threshold_pct__gte=1, response_threshold_pct__lte=100),
                name="protocol_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def active(cls) -> "Protocol":
        protocol = cls.objects.filter(is_active=True).first()
        if protocol is None:
            protocol, _ = cls.objects.get_or_create(is_active=True)
        return protocol


class Course(models.Model):
    """One patient on one protocol."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        STOPPED = "stopped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="courses")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="courses")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(status="active"), name="one_active_course"),
        ]

    def __str__(self) -> str:
        return f"Course {self.id} ({self.status})"


class TreatmentRecord(models.Model):
    """What was injected at one completed treatment session (PREEMPT paradigm)."""

    MUSCLES = (
        "corrugator",
        "procerus",
        "frontalis",
        "temporalis",
        "occipitalis",
        "cervical_paraspinal",
        "trapezius",
    )
    # Units per muscle group at 5 U per site: 155 U at 31 sites.
    STANDARD_UNITS = {
        "corrugator": 10,
        "procerus": 5,
        "frontalis": 20,
        "temporalis": 40,
        "occipitalis": 30,
        "cervical_paraspinal": 20,
        "trapezius": 30,
    }
    # Follow-the-pain adds units only in these groups (up to 195 U at 39 sites).
    FOLLOW_THE_PAIN_MUSCLES = ("temporalis", "occipitalis", "trapezius")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField("scheduling.Session", on_delete=models.PROTECT, related_name="treatment")
    units_by_muscle = models.JSONField()
    sites = models.PositiveSmallIntegerField()
    total_units = models.PositiveSmallIntegerField()
    units_wasted = models.PositiveSmallIntegerField(default=0)
    lot_number = models.CharField(max_length=64)
    lot_expiry = models.DateField()
    injector = models.ForeignKey("scheduling.Clinician", on_delete=models.PROTECT, related_name="treatments")
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(total_units__gt=0), name="treatment_units_positive")]

    def __str__(self) -> str:
        return f"{self.total_units} U at {self.sites} sites"

    @property
    def waste_modifier(self) -> str:
        """HCPCS J0585 modifier: JW when units were discarded, JZ when none were."""
        return "JW" if self.units_wasted > 0 else "JZ"


class AdverseEvent(models.Model):
    class Kind(models.TextChoices):
        NECK_PAIN = "neck_pain"
        PTOSIS = "ptosis"
        DYSPHAGIA = "dysphagia"
        INJECTION_SITE_PAIN = "injection_site_pain"
        HEADACHE_FLARE = "headache_flare"
        MUSCLE_WEAKNESS = "muscle_weakness"
        BREATHING_DIFFICULTY = "breathing_difficulty"
        OTHER = "other"

    class Severity(models.TextChoices):
        MILD = "mild"
        MODERATE = "moderate"
        SEVERE = "severe"
        SERIOUS = "serious"

    # Distant spread of toxin: these open an urgent review flag at once.
    URGENT_KINDS = (Kind.DYSPHAGIA, Kind.BREATHING_DIFFICULTY)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="adverse_events")
    session = models.ForeignKey("scheduling.Session", on_delete=models.CASCADE, related_name="adverse_events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity})"

    @property
    def is_urgent(self) -> bool:
        return self.kind in self.URGENT_KINDS or self.severity == self.Severity.SERIOUS


class ReviewFlag(models.Model):
    """Puts a course in front of a clinician. At most one open per (course, kind, cycle)."""

    class Kind(models.TextChoices):
        NO_BENEFIT = "no_benefit"
        MISSING_RESPONSE_DATA = "missing_response_data"
        EPISODIC_CONVERSION = "episodic_conversion"
        ADVERSE_EVENT = "adverse_event"
        OVERDUE = "overdue"
        AUTO_BOOKING_FAILED = "auto_booking_failed"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    class Decision(models.TextChoices):
        CONTINUE = "continue"
        STOP = "stop"
        ADJUST_DOSE = "adjust_dose"
        OTHER = "other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="review_flags")
    course = models.ForeignKey("Course", on_delete=models.CASCADE, related_name="review_flags")
    session = models.ForeignKey(
        "scheduling.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="review_flags"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    cycle = models.PositiveSmallIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "kind", "cycle"],
                condition=Q(status="open"),
                name="one_open_flag_per_course_kind_cycle",
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"], name="review_flag_status_kind")]

    def __str__(self) -> str:
        return f"{self.kind} cycle {self.cycle} ({self.status})"

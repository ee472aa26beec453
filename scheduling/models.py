import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Func, Q


class Location(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Clinician(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="clinician"
    )
    locations = models.ManyToManyField(Location, related_name="clinicians", blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """A clinician's hours at a location on one weekday, in that location's wall-clock time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday")
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["clinician", "weekday", "start_time"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="working_hours_weekday_range"),
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="working_hours_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.clinician} {self.weekday} {self.start_time:%H:%M}–{self.end_time:%H:%M} @ {self.location}"


class TimeOff(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        verbose_name_plural = "time off"
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="time_off_ordered")]

    def __str__(self) -> str:
        return f"{self.clinician} off {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}"


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


class Session(models.Model):
    class Kind(models.TextChoices):
        TREATMENT = "treatment"
        CONSULTATION = "consultation"
        REVIEW = "review"

    class Status(models.TextChoices):
        BOOKED = "booked"
        CONFIRMED = "confirmed"
        CHECKED_IN = "checked_in"
        COMPLETED = "completed"
        CANCELLED = "cancelled"
        NO_SHOW = "no_show"

    # Statuses that hold a clinician's and a patient's time.
    ACTIVE_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED)
    UPCOMING_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="sessions")
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="sessions")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="sessions")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TREATMENT)
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    cycle_number = models.PositiveSmallIntegerField(null=True, blank=True)
    auto_booked = models.BooleanField(default=False)
    # A treatment booked after the window (last treatment + interval + window days): allowed, but late.
    late = models.BooleanField(default=False)
    override_reason = models.CharField(max_length=500, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="session_ordered"),
        ]
        indexes = [
            models.Index(fields=["clinician", "start"]),
            models.Index(fields=["location", "start"]),
            models.Index(fields=["patient", "start"]),
            models.Index(fields=["status", "start"]),
            # A course's last completed treatment and its upcoming one (the due list, the sweeps).
            models.Index(fields=["course", "kind", "status", "start"], name="session_course_kind_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.start:%Y-%m-%d %H:%M}Z ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def _no_overlap(name: str, column: str) -> ExclusionConstraint:
    return ExclusionConstraint(
        name=name,
        expressions=[
            (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
            (column, RangeOperators.EQUAL),
        ],
        condition=Q(status__in=[s.value for s in Session.ACTIVE_STATUSES]),
    )


# The no-double-booking invariants. PostgreSQL only (btree_gist); added by a
# vendor-checked migration. On SQLite, `session_book` serialises bookings.
CLINICIAN_NO_OVERLAP = _no_overlap("session_clinician_no_overlap", "clinician")
PATIENT_NO_OVERLAP = _no_overlap("session_patient_no_overlap", "patient")


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
    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="treatment")
    units_by_muscle = models.JSONField()
    sites = models.PositiveSmallIntegerField()
    total_units = models.PositiveSmallIntegerField()
    units_wasted = models.PositiveSmallIntegerField(default=0)
    lot_number = models.CharField(max_length=64)
    lot_expiry = models.DateField()
    injector = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="treatments")
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
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="adverse_events")
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

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
    phone = models.CharField(max_length=20, blank=True, help_text="E.164; shown to patients whose link no longer works")

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

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, help_text="0 = Monday")
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

    # No session is longer than this (the booking services refuse longer ones), so "overlaps a window" is
    # also "starts at most this long before it": a bound an index on start can use.
    MAX_LENGTH = timedelta(hours=12)
    # Statuses that hold a clinician's and a patient's time.
    ACTIVE_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED)
    UPCOMING_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="sessions")
    course = models.ForeignKey(
        "cycles.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
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

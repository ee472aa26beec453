import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Func, Q


class DateRange(Func):
    function = "DATERANGE"
    output_field = DateRangeField()


class Patient(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        DISCHARGED = "discharged"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mrn = models.CharField("MRN", max_length=32, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    time_zone = models.CharField(max_length=64, default=settings.DEFAULT_CLINIC_TIME_ZONE)
    email_opt_in = models.BooleanField(default=True)
    sms_opt_in = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "mrn"]
        indexes = [
            models.Index(fields=["family_name", "given_name"]),
            models.Index(fields=["phone"]),
            models.Index(fields=["email"]),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class PriorPreventive(models.Model):
    """An oral preventive tried before toxin: NICE asks for failed ones first."""

    class Outcome(models.TextChoices):
        FAILED = "failed"
        NOT_TOLERATED = "not_tolerated"
        CONTRAINDICATED = "contraindicated"
        ONGOING = "ongoing"

    COUNTS_AS_FAILED = (Outcome.FAILED, Outcome.NOT_TOLERATED, Outcome.CONTRAINDICATED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="preventives")
    drug = models.CharField(max_length=100)
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["started_on", "created_at"]

    def __str__(self) -> str:
        return f"{self.drug} ({self.outcome})"


class DiaryEntry(models.Model):
    """Headache diary over one period (inclusive of both ends, at most 31 days)."""

    class Source(models.TextChoices):
        CLINICIAN = "clinician"
        PATIENT = "patient"
        IMPORT = "import"

    MAX_PERIOD_DAYS = 31

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="diary_entries")
    period_start = models.DateField()
    period_end = models.DateField()
    headache_days = models.PositiveSmallIntegerField()
    migraine_days = models.PositiveSmallIntegerField()
    acute_medication_days = models.PositiveSmallIntegerField(default=0)
    hit6 = models.PositiveSmallIntegerField(null=True, blank=True)
    midas = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CLINICIAN)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period_start"]
        verbose_name_plural = "diary entries"
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="diary_period_ordered"),
            models.CheckConstraint(
                condition=Q(migraine_days__lte=F("headache_days")), name="diary_migraine_le_headache"
            ),
            models.CheckConstraint(
                condition=Q(hit6__isnull=True) | Q(hit6__gte=36, hit6__lte=78), name="diary_hit6_range"
            ),
            models.CheckConstraint(condition=Q(midas__isnull=True) | Q(midas__lte=270), name="diary_midas_range"),
        ]
        indexes = [models.Index(fields=["patient", "period_start"])]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.period_start}–{self.period_end}: {self.headache_days}"

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1


# Overlapping diary periods for one patient are refused by the service; on
# PostgreSQL the database refuses them too. Added by a PostgreSQL-only migration.
DIARY_NO_OVERLAP = ExclusionConstraint(
    name="diary_no_overlap",
    expressions=[
        (
            DateRange("period_start", "period_end", RangeBoundary(inclusive_lower=True, inclusive_upper=True)),
            RangeOperators.OVERLAPS,
        ),
        ("patient", RangeOperators.EQUAL),
    ],
)

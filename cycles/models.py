"""The treatment course and its records: protocol profiles, courses, prior authorisations, treatments, adverse
events, review flags."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


def default_urgent_adverse_events() -> list[str]:
    # The label's boxed warning on distant spread of toxin, and allergy.
    return [
        "dysphagia",
        "breathing_difficulty",
        "diplopia",
        "dysphonia",
        "dysarthria",
        "generalized_weakness",
        "allergic_reaction",
    ]


class Protocol(models.Model):
    """A protocol profile: one payer's or guideline's treatment rules (DESIGN.md §2).

    Each course follows its own profile; exactly one profile is the default, which a new course takes.
    """

    class Metric(models.TextChoices):
        HEADACHE_DAYS = "headache_days"
        MIGRAINE_DAYS = "migraine_days"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, default="Chronic migraine (PREEMPT)")
    is_default = models.BooleanField(default=False)
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
    min_baseline_diary_days = models.PositiveSmallIntegerField(default=28)
    min_cycle_diary_days = models.PositiveSmallIntegerField(default=28)
    baseline_window_days = models.PositiveSmallIntegerField(default=90)
    assessment_after_days = models.PositiveSmallIntegerField(
        default=56, help_text="a cycle is judged once the next treatment is given or this many days have passed"
    )
    response_metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.HEADACHE_DAYS)
    episodic_threshold_days = models.PositiveSmallIntegerField(
        default=15, help_text="headache days per 28 below which a course may have converted to episodic"
    )
    episodic_min_diary_days = models.PositiveSmallIntegerField(default=84)
    overuse_acute_days = models.PositiveSmallIntegerField(default=10)
    urgent_adverse_events = models.JSONField(default=default_urgent_adverse_events)
    requires_authorization = models.BooleanField(default=False)
    units_per_site = models.PositiveSmallIntegerField(default=5)
    backfill_offers = models.PositiveSmallIntegerField(default=3)
    backfill_min_notice_hours = models.PositiveSmallIntegerField(default=24)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_protocol"),
            models.CheckConstraint(
                condition=Q(response_threshold_pct__gte=1, response_threshold_pct__lte=100),
                name="protocol_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> "Protocol":
        """The default profile (a new course takes it), made with the PREEMPT defaults on first use."""
        protocol = cls.objects.filter(is_default=True).first()
        if protocol is None:
            protocol, _ = cls.objects.get_or_create(is_default=True)
        return protocol


# ICD-10-CM: chronic migraine without aura, not intractable, without status migrainosus.
DEFAULT_DIAGNOSIS_CODE = "G43.709"


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
    diagnosis_code = models.CharField(
        max_length=8, default=DEFAULT_DIAGNOSIS_CODE, help_text="ICD-10-CM, as on the payer's claim"
    )
    referring_clinician = models.CharField(
        max_length=200, blank=True, help_text="who referred the patient: the letter is addressed to them"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(status="active"), name="one_active_course"),
        ]

    def __str__(self) -> str:
        return f"Course {self.id} ({self.status})"


class Authorization(models.Model):
    """A payer's prior authorisation of a course: `treatments_approved` treatments whose local dates fall in
    [valid_from, valid_to] (API.md, Prior authorisation).

    Treatments used are counted from the course's sessions, never stored: a booking, a cancellation or a
    move changes them at once. `expiring` and `expiring_since` are the daily job's mark
    (`cycles.authorizations.expiring_sweep`): when the renewal prompt began.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="authorizations")
    payer = models.CharField(max_length=100)
    reference = models.CharField(max_length=64, blank=True, help_text="the payer's authorisation number")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    treatments_approved = models.PositiveSmallIntegerField(default=0)
    units_approved = models.PositiveIntegerField(null=True, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField()
    notes = models.TextField(blank=True)
    expiring = models.BooleanField(default=False, help_text="marked by the daily job: renewal due")
    expiring_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-valid_to", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gte=models.F("valid_from")), name="authorization_dates"),
        ]
        indexes = [models.Index(fields=["status", "valid_to"], name="authorization_status_valid_to")]

    def __str__(self) -> str:
        return f"{self.payer} {self.reference} {self.valid_from}–{self.valid_to} ({self.status})"


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
    # Follow-the-pain adds units only in these groups, each up to its maximum (to 195 U at 39 sites).
    FOLLOW_THE_PAIN_MAXIMUM = {"temporalis": 50, "occipitalis": 40, "trapezius": 50}
    FOLLOW_THE_PAIN_MUSCLES = tuple(FOLLOW_THE_PAIN_MAXIMUM)
    VIAL_SIZES = (100, 200)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField("scheduling.Session", on_delete=models.PROTECT, related_name="treatment")
    units_by_muscle = models.JSONField()
    sites = models.PositiveSmallIntegerField()
    total_units = models.PositiveSmallIntegerField()
    units_wasted = models.PositiveSmallIntegerField(default=0)
    lot_number = models.CharField(max_length=64)
    lot_expiry = models.DateField()
    vials = models.JSONField(default=list, blank=True, help_text="[{size_units, lot_number, lot_expiry}] opened")
    deviation_reason = models.TextField(blank=True, help_text="why the record departs from the PREEMPT template")
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

    @property
    def billing(self) -> list[dict]:
        """The claim lines: CPT 64615 (chemodenervation for chronic migraine), J0585 per unit given, and the
        discarded units under JW, or JZ with 0 units when nothing was discarded (CMS JW/JZ policy)."""
        waste = {"code": "J0585", "modifier": self.waste_modifier, "units": self.units_wasted}
        return [{"code": "64615"}, {"code": "J0585", "units": self.total_units}, waste]


class AdverseEvent(models.Model):
    class Kind(models.TextChoices):
        NECK_PAIN = "neck_pain"
        PTOSIS = "ptosis"
        DYSPHAGIA = "dysphagia"
        INJECTION_SITE_PAIN = "injection_site_pain"
        HEADACHE_FLARE = "headache_flare"
        MUSCLE_WEAKNESS = "muscle_weakness"
        BREATHING_DIFFICULTY = "breathing_difficulty"
        DIPLOPIA = "diplopia"
        DYSPHONIA = "dysphonia"
        DYSARTHRIA = "dysarthria"
        GENERALIZED_WEAKNESS = "generalized_weakness"
        ALLERGIC_REACTION = "allergic_reaction"
        OTHER = "other"

    class Severity(models.TextChoices):
        MILD = "mild"
        MODERATE = "moderate"
        SEVERE = "severe"
        SERIOUS = "serious"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="adverse_events")
    session = models.ForeignKey("scheduling.Session", on_delete=models.CASCADE, related_name="adverse_events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    note = models.TextField(blank=True)
    onset_on = models.DateField(null=True, blank=True)
    reported_late = models.BooleanField(default=False, help_text="reported after the visit")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity})"

    def is_urgent(self, urgent_kinds) -> bool:
        """The protocol's urgent kinds (distant spread of toxin), or anything serious."""
        return self.kind in urgent_kinds or self.severity == self.Severity.SERIOUS


class ReviewFlag(models.Model):
    """Puts a course in front of a clinician. At most one open per (course, kind, cycle)."""

    class Kind(models.TextChoices):
        NO_BENEFIT = "no_benefit"
        MISSING_RESPONSE_DATA = "missing_response_data"
        EPISODIC_CONVERSION = "episodic_conversion"
        ADVERSE_EVENT = "adverse_event"
        OVERDUE = "overdue"
        AUTO_BOOKING_FAILED = "auto_booking_failed"
        MEDICATION_OVERUSE = "medication_overuse"

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


class FreedSlot(models.Model):
    """A treatment slot freed by a cancellation with enough notice, offered to the patients due then.

    One per cancelled session: the slot is that session's clinician, location, start and end.
    `offer_until` is the start less the default profile's `backfill_min_notice_hours`: after it the
    slot is too close to fill and its offers expire.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for its offers"
        OFFERING = "offering", "Offered"
        FILLED = "filled", "Filled from an offer"
        CLOSED = "closed", "Closed"

    class CloseReason(models.TextChoices):
        ACCEPTED = "accepted", "Filled from an offer"
        NO_CANDIDATES = "no_candidates", "No one due to offer it to"
        WITHIN_NOTICE = "within_notice", "Too close to fill"
        SLOT_BOOKED = "slot_booked", "Booked meanwhile"
        SLOT_UNAVAILABLE = "slot_unavailable", "Clinician unavailable"
        TURNED_OFF = "turned_off", "Slot offers turned off"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField("scheduling.Session", on_delete=models.CASCADE, related_name="freed_slot")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    offer_until = models.DateTimeField()
    freed_at = models.DateTimeField()
    offered_at = models.DateTimeField(null=True, blank=True, help_text="when its offers were last made")
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=32, choices=CloseReason.choices, blank=True)

    class Meta:
        ordering = ["-freed_at"]
        indexes = [models.Index(fields=["status", "offer_until"], name="freed_slot_status_until")]

    def __str__(self) -> str:
        return f"slot of {self.session_id} ({self.status})"


class SlotOffer(models.Model):
    """A freed slot offered to one patient: the first to accept books it (cycles/offers.py)."""

    class Status(models.TextChoices):
        OFFERED = "offered"
        ACCEPTED = "accepted"
        TAKEN = "taken", "Taken by someone else"
        EXPIRED = "expired"
        DECLINED = "declined"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    freed_slot = models.ForeignKey(FreedSlot, on_delete=models.CASCADE, related_name="offers")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="slot_offers")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="slot_offers")
    rank = models.PositiveSmallIntegerField(help_text="1 = first in API.md's order when it was offered")
    moves = models.ForeignKey(
        "scheduling.Session",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the later treatment an accept moves to this slot, as booked when offered",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFERED)
    offered_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True, help_text="accepted or declined")
    closed_at = models.DateTimeField(null=True, blank=True)
    booked = models.OneToOneField(
        "scheduling.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="filled_offer"
    )

    class Meta:
        ordering = ["-offered_at", "rank"]
        constraints = [
            # A job run twice, or two workers at once, never offers one slot twice to one patient.
            models.UniqueConstraint(fields=["freed_slot", "patient"], name="one_offer_per_slot_and_patient"),
            # The slot goes once: beside the sessions' exclusion constraint, one accepted offer per slot.
            models.UniqueConstraint(
                fields=["freed_slot"], condition=Q(status="accepted"), name="one_accepted_offer_per_slot"
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="slot_offer_patient_status")]

    def __str__(self) -> str:
        return f"offer {self.rank} of {self.freed_slot_id} ({self.status})"

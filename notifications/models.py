import uuid
from datetime import time
from time import monotonic

from django.db import models
from django.db.models import Q

from notifications.channels import message_id_for


class Notification(models.Model):
    """The outbox: one row per message that will be, was, or will not be sent.

    `dedupe_key` makes each (session, purpose, offset, channel) exist once; for
    reminders and reschedule notices the key also carries the session start the
    row was made for, so a rescheduled session gets new rows while the old ones
    are withdrawn (skipped) rather than silently rewritten. A slot offer's row has
    the cancelled session whose slot it offers: (session, patient) names the offer
    (`cycles.SlotOffer`, one per freed slot and patient).
    """

    class Purpose(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation"
        REMINDER = "reminder"
        NEXT_SESSION_DUE = "next_session_due"
        DIARY_REQUEST = "diary_request"
        CANCELLATION = "cancellation"
        RESCHEDULE = "reschedule"
        SLOT_OFFER = "slot_offer"

    class Channel(models.TextChoices):
        EMAIL = "email"
        SMS = "sms"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="notifications")
    session = models.ForeignKey(
        "scheduling.Session", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    course = models.ForeignKey(
        "cycles.Course", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    offset_days = models.PositiveSmallIntegerField(default=0, help_text="reminders: days before the session")
    session_start = models.DateTimeField(null=True, blank=True, help_text="the session start this row was made for")
    dedupe_key = models.CharField(max_length=200, unique=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="when a delivery task was last sent for it")
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["patient", "channel", "status"]),
            models.Index(fields=["session", "purpose"]),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} by {self.channel} due {self.due_at:%Y-%m-%d %H:%M}Z ({self.status})"

    @property
    def message_id(self) -> str:
        """Deterministic, so a repeat after a crash between send and mark can be recognised."""
        return message_id_for(self.id)


POLICY_CACHE_SECONDS = 30
_policy_cache: dict = {}


class ReminderPolicy(models.Model):
    """What the queueing job creates and when the delivery task may send. One row is used."""

    email_days_before = models.JSONField(default=list, help_text="e.g. [7, 1]")
    sms_days_before = models.JSONField(default=list, help_text="e.g. [1]")
    quiet_start = models.TimeField(default=time(21))
    quiet_end = models.TimeField(default=time(8))
    sms_per_day = models.PositiveSmallIntegerField(default=1)
    sms_per_week = models.PositiveSmallIntegerField(default=3)
    diary_every_days = models.PositiveSmallIntegerField(default=28)
    updated_at = models.DateTimeField(auto_now=True)

    DEFAULTS = {"email_days_before": [7, 1], "sms_days_before": [1]}

    class Meta:
        verbose_name_plural = "reminder policy"

    def __str__(self) -> str:
        return f"email {self.email_days_before} days, SMS {self.sms_days_before} days before"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _policy_cache.clear()  # not business logic: a cache of this very row

    @classmethod
    def current(cls) -> "ReminderPolicy":
        """The clinic's policy. Every booking and every delivery reads it and it changes once in a blue moon
        (the admin), so a process keeps it for POLICY_CACHE_SECONDS: another process sees a change within
        that time; this one at once (`save` forgets it)."""
        cached = _policy_cache.get("policy")
        if cached is not None and monotonic() - cached[1] < POLICY_CACHE_SECONDS:
            return cached[0]
        policy = cls.objects.order_by("pk").first()
        if policy is None:
            policy = cls.objects.create(**cls.DEFAULTS)
        _policy_cache["policy"] = (policy, monotonic())
        return policy

    @classmethod
    def forget(cls) -> None:
        _policy_cache.clear()

    def offsets(self) -> list[tuple[str, int]]:
        return [(Notification.Channel.EMAIL, int(d)) for d in self.email_days_before] + [
            (Notification.Channel.SMS, int(d)) for d in self.sms_days_before
        ]


class InboundMessage(models.Model):
    """An SMS received from the provider; unique on its message id, so a replay changes nothing."""

    class Action(models.TextChoices):
        OPT_OUT = "opt_out"
        OPT_IN = "opt_in"
        NONE = "none"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider_message_id = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=32)
    body = models.CharField(max_length=1600, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.NONE)
    patients_matched = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.provider_message_id} from {self.from_number} ({self.action})"


class PatientLink(models.Model):
    """A signed link a patient opens without logging in; single-use for state changes.

    The token carries only `key`, signed and timestamped; the row binds it to one
    session (or one patient's diary, or one slot offer: the cancelled session and
    the patient name it), so it cannot act on anything else.
    """

    class Kind(models.TextChoices):
        SESSION = "session"
        DIARY = "diary"
        OFFER = "offer"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="links")
    session = models.ForeignKey(
        "scheduling.Session", null=True, blank=True, on_delete=models.CASCADE, related_name="patient_links"
    )
    notification = models.OneToOneField(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="link"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_action = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="diary") | Q(session__isnull=False), name="patient_link_session_has_session"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} link {self.key} ({'used' if self.used_at else 'open'})"

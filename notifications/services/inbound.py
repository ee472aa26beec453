"""Inbound SMS: STOP and START from the patient, recorded once per provider message id."""

from django.db import transaction
from django.utils import timezone

from notifications.models import InboundMessage
from patients.models import Patient

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP"})


def keyword_action(body: str) -> str:
    word = "".join(ch for ch in body.strip().upper() if ch.isalnum() or ch.isspace()).strip()
    if word in STOP_WORDS:
        return InboundMessage.Action.OPT_OUT
    if word in START_WORDS:
        return InboundMessage.Action.OPT_IN
    return InboundMessage.Action.NONE


@transaction.atomic
def inbound_sms_receive(*, provider_message_id: str, from_number: str, body: str) -> tuple[InboundMessage, bool]:
    """Record an inbound SMS once; a STOP-family word turns SMS consent off at once, START on.

    Returns (message, created); a replay of the same provider message id changes nothing.
    """
    message, created = InboundMessage.objects.get_or_create(
        provider_message_id=provider_message_id,
        defaults={"from_number": from_number[:32], "body": body[:1600], "action": keyword_action(body)},
    )
    if not created:
        return message, False
    if message.action != InboundMessage.Action.NONE and from_number:
        opt_in = message.action == InboundMessage.Action.OPT_IN
        message.patients_matched = Patient.objects.filter(phone=from_number).update(
            sms_opt_in=opt_in, updated_at=timezone.now()
        )
        message.save(update_fields=["patients_matched"])
    return message, True


def stop_in_effect(phone: str) -> bool:
    """Whether the latest STOP or START keyword received from this number was a STOP (patients.consent asks)."""
    latest = (
        InboundMessage.objects.filter(from_number=phone)
        .exclude(action=InboundMessage.Action.NONE)
        .order_by("-received_at", "-id")
        .values_list("action", flat=True)
        .first()
    )
    return latest == InboundMessage.Action.OPT_OUT

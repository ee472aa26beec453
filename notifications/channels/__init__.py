"""Delivery channels behind one small interface: `send(message) -> provider id`.

Email goes through Django's mail framework (the backend is a setting); SMS
through a backend chosen by `SMS_BACKEND` (console, file, locmem, twilio).
"""

from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings


class SendError(Exception):
    """A message could not be handed to the provider."""


class TransientSendError(SendError):
    """Worth retrying: a timeout, a refused connection, a 5xx or a 429."""


class PermanentSendError(SendError):
    """Retrying cannot help: a refused address, a 4xx."""


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    idempotency_key: str


def message_domain() -> str:
    sender = settings.DEFAULT_FROM_EMAIL
    domain = sender.rsplit("@", 1)[-1].strip(" >")
    return domain or "cycledesk.invalid"


def message_id_for(notification_id: UUID) -> str:
    return f"<notification-{notification_id}@{message_domain()}>"

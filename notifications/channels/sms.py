"""SMS backends. `get_backend()` returns the one `SMS_BACKEND` names.

Each `send()` returns the provider's message id. The file and locmem backends
use the notification's idempotency key as that id; Twilio has no idempotency
key on message create, so a repeat after a crash is recognised by its body and
recipient only, and the provider SID is what gets recorded.
"""

import json
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.channels import PermanentSendError, SmsMessage, TransientSendError

outbox: list[dict] = []  # the locmem backend's sent messages, for tests


class ConsoleSmsBackend:
    def send(self, message: SmsMessage) -> str:
        sys.stdout.write(f"SMS to {message.to} [{message.idempotency_key}]: {message.body}\n")
        sys.stdout.flush()
        return message.idempotency_key


class FileSmsBackend:
    """One JSON file per SMS: {"to", "body", "id"} in SMS_FILE_PATH."""

    def send(self, message: SmsMessage) -> str:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        payload = {"to": message.to, "body": message.body, "id": message.idempotency_key}
        target = folder / f"{uuid.uuid4().hex}.json"
        partial = target.with_suffix(".part")
        try:
            partial.write_text(json.dumps(payload))
            partial.rename(target)  # a reader never sees half a message
        except OSError as exc:
            raise TransientSendError(str(exc)) from exc
        return message.idempotency_key


class LocmemSmsBackend:
    def send(self, message: SmsMessage) -> str:
        outbox.append({"to": message.to, "body": message.body, "id": message.idempotency_key})
        return message.idempotency_key


class TwilioSmsBackend:
    def __init__(self, http_client=None) -> None:
        from twilio.rest import Client

        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)

    def send(self, message: SmsMessage) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            sent = self.client.messages.create(to=message.to, from_=settings.TWILIO_FROM_NUMBER, body=message.body)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientSendError(f"Twilio {exc.status} {exc.code}") from exc
            raise PermanentSendError(f"Twilio {exc.status} {exc.code}: {exc.msg}") from exc
        except (TwilioException, OSError) as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        return sent.sid


BACKENDS = {
    "console": "notifications.channels.sms.ConsoleSmsBackend",
    "file": "notifications.channels.sms.FileSmsBackend",
    "locmem": "notifications.channels.sms.LocmemSmsBackend",
    "twilio": "notifications.channels.sms.TwilioSmsBackend",
}


def get_backend():
    return import_string(BACKENDS[settings.SMS_BACKEND])()


def send_sms(message: SmsMessage) -> str:
    return get_backend().send(message)

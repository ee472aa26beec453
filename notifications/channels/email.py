"""Email through Django's mail framework: SMTP in production, console or file locally.

A process keeps one open backend connection (per thread) and reuses it for every message: one SMTP session
carries a whole batch and the next task's too. A connection idle for longer than IDLE_CHECK_SECONDS is checked
(SMTP NOOP) before it is reused; one that fails a send is dropped, so the next message opens a fresh one, and the
failed message itself is retried by the delivery rules (TransientSendError), never resent here. The worker closes
it when its process ends (`notifications.tasks`, worker_process_shutdown).
"""

import contextlib
import smtplib
import threading
from time import monotonic

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.signals import setting_changed
from django.dispatch import receiver

from notifications.channels import EmailMessage, PermanentSendError, TransientSendError

IDLE_CHECK_SECONDS = 10.0

_held = threading.local()


def _settings_key() -> tuple:
    """What the connection was opened for: a changed setting (tests, a reload) opens a new one."""
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        getattr(settings, "EMAIL_FILE_PATH", None),
    )


def _alive(connection) -> bool:
    smtp = getattr(connection, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        return True  # console, file, locmem, an API backend: nothing to go stale
    try:
        return smtp.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def held_connection():
    """This thread's open mail backend connection, opened (or reopened) as needed."""
    key = _settings_key()
    connection = getattr(_held, "connection", None)
    if connection is not None and (
        _held.key != key or (monotonic() - _held.used > IDLE_CHECK_SECONDS and not _alive(connection))
    ):
        close_held_connection()
        connection = None
    if connection is None:
        connection = get_connection(fail_silently=False)
        connection.open()
        _held.connection, _held.key = connection, key
    _held.used = monotonic()
    return connection


def close_held_connection() -> None:
    connection = getattr(_held, "connection", None)
    _held.connection = None
    if connection is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):  # a broken connection is gone anyway
            connection.close()


@receiver(setting_changed)
def _forget_on_setting_change(*, setting: str, **kwargs) -> None:
    if setting.startswith("EMAIL_"):
        close_held_connection()


def send_email(message: EmailMessage) -> str:
    """Hand one message to the configured backend over the held connection; returns its Message-ID."""
    try:
        connection = held_connection()
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": message.message_id},
            connection=connection,
        )
        email.attach_alternative(message.html, "text/html")
        for filename, content, mimetype in message.attachments:
            email.attach(filename, content, mimetype)
        sent = email.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        close_held_connection()
        raise PermanentSendError(f"refused: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        close_held_connection()
        if 400 <= exc.smtp_code < 500:
            raise TransientSendError(f"SMTP {exc.smtp_code}") from exc
        raise PermanentSendError(f"SMTP {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        close_held_connection()
        raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
    if sent != 1:
        close_held_connection()
        raise TransientSendError("the mail backend accepted no message")
    return message.message_id

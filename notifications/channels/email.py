"""Email through Django's mail framework: SMTP in production, console or file locally."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications.channels import EmailMessage, PermanentSendError, TransientSendError


def send_email(message: EmailMessage) -> str:
    """Hand one message to the configured backend; returns its Message-ID (our provider id)."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message.message_id},
        connection=get_connection(fail_silently=False),
    )
    email.attach_alternative(message.html, "text/html")
    for filename, content, mimetype in message.attachments:
        email.attach(filename, content, mimetype)
    try:
        sent = email.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise PermanentSendError(f"refused: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransientSendError(f"SMTP {exc.smtp_code}") from exc
        raise PermanentSendError(f"SMTP {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
    if sent != 1:
        raise TransientSendError("the mail backend accepted no message")
    return message.message_id

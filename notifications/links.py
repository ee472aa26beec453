"""Signed, expiring patient links: /p/<token>/ and /p/diary/<token>/.

The token is `key:timestamp:signature` (django.core.signing.TimestampSigner). The
key names one PatientLink row, which binds the link to one session or one
patient's diary. The HMAC-SHA256 signature is truncated to 22 base64 characters
(132 bits, above RFC 2104's half-length floor) so that a link fits in a
160-character SMS.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from notifications.models import Notification, PatientLink

_SALT = "notifications.patient-link"


class LinkGone(Exception):
    """Expired or already used: the page answers 410."""


class LinkInvalid(Exception):
    """Not a token we signed: the page answers 404."""


SIGNATURE_CHARS = 22


class ShortTimestampSigner(signing.TimestampSigner):
    def signature(self, value, key=None):
        return super().signature(value, key)[:SIGNATURE_CHARS]


def _signer() -> signing.TimestampSigner:
    return ShortTimestampSigner(salt=_SALT, algorithm="sha256")


def sign(link: PatientLink) -> str:
    return _signer().sign(link.key)


def url_for(link: PatientLink) -> str:
    name = "patient-diary-link" if link.kind == PatientLink.Kind.DIARY else "patient-link"
    return settings.SITE_URL + reverse(name, args=[sign(link)])


def link_for_notification(*, notification: Notification) -> PatientLink:
    """The notification's link, made once: a retried delivery reuses the same row."""
    existing = PatientLink.objects.filter(notification=notification).first()
    if existing:
        return existing
    kind = {
        Notification.Purpose.DIARY_REQUEST: PatientLink.Kind.DIARY,
        Notification.Purpose.SLOT_OFFER: PatientLink.Kind.OFFER,
    }.get(notification.purpose, PatientLink.Kind.SESSION)
    for _ in range(5):
        try:
            with transaction.atomic():
                return PatientLink.objects.create(
                    key=secrets.token_urlsafe(5),  # short for SMS; the signature, not the key, is the secret
                    kind=kind,
                    patient_id=notification.patient_id,
                    session_id=notification.session_id if kind != PatientLink.Kind.DIARY else None,
                    notification=notification,
                )
        except IntegrityError:
            existing = PatientLink.objects.filter(notification=notification).first()
            if existing:
                return existing  # another delivery of the same row made it first
    raise RuntimeError("could not allocate a unique link key")


def resolve(token: str, *, kind: str | tuple[str, ...]) -> PatientLink:
    """The link a token names (of `kind`, or one of several), if it is genuine, unexpired and unused."""
    max_age = timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS)
    try:
        key = _signer().unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkGone("expired") from None
    except signing.BadSignature:
        raise LinkInvalid("bad signature") from None
    link = (
        PatientLink.objects.select_related("patient", "session", "session__location", "session__clinician")
        .filter(key=key, kind__in=(kind,) if isinstance(kind, str) else kind)
        .first()
    )
    if link is None:
        raise LinkInvalid("no such link")
    if link.used_at is not None:
        raise LinkGone("used")
    return link

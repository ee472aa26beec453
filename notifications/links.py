"""Signed, expiring patient links: /p/<token>/ and /p/diary/<token>/.

The token is `key:timestamp:signature` (django.core.signing.TimestampSigner). The
key names one PatientLink row, which binds the link to one session or one
patient's diary. The HMAC-SHA256 signature is truncated to 22 base64 characters
(132 bits, above RFC 2104's half-length floor) so that a link fits in a
160-character SMS.
"""

import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, PatientLink

_SALT = "notifications.patient-link"


class LinkGone(Exception):
    """Expired or already used: the page answers 410 (with the link, when known, for the clinic's phone)."""

    def __init__(self, why: str, link: "PatientLink | None" = None):
        super().__init__(why)
        self.link = link


class LinkInvalid(Exception):
    """Not a token we signed: the page answers 404."""


SIGNATURE_CHARS = 22


class ShortTimestampSigner(signing.TimestampSigner):
    def signature(self, value, key=None):
        return super().signature(value, key)[:SIGNATURE_CHARS]

    def unsign_issued(self, token: str) -> tuple[str, datetime]:
        """The signed value and when it was signed; BadSignature if we did not sign it."""
        value, stamp = signing.Signer.unsign(self, token).rsplit(self.sep, 1)
        try:
            return value, datetime.fromtimestamp(signing.b62_decode(stamp), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise signing.BadSignature("unreadable timestamp") from None


def _signer() -> ShortTimestampSigner:
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


# Clocks of two servers may differ a little; a token signed further ahead than this was not signed by us.
CLOCK_SKEW = timedelta(minutes=5)


def resolve(token: str, *, kind: str | tuple[str, ...]) -> PatientLink:
    """The link a token names (of `kind`, or one of several), if it is genuine, unexpired and unused.

    A link expires PATIENT_LINK_MAX_AGE_DAYS after its token was signed *and* after its row
    was made, whichever comes first: the expiry is the server's, so a token signed with a
    date in the future (by anyone who got hold of the key) cannot stretch it.
    """
    max_age = timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS)
    now = timezone.now()
    try:
        key, issued = _signer().unsign_issued(token)
    except signing.BadSignature:
        raise LinkInvalid("bad signature") from None
    if issued > now + CLOCK_SKEW:
        raise LinkInvalid("signed in the future")
    link = _link(key, kind)
    if now - issued > max_age:
        # Genuine but too old: the row is still looked up, so the page can give the clinic's number.
        raise LinkGone("expired", link)
    if link is None:
        raise LinkInvalid("no such link")
    if now - link.created_at > max_age:
        raise LinkGone("expired", link)
    if link.used_at is not None:
        raise LinkGone("used", link)
    return link


def actor(link: PatientLink) -> str:
    """How the audit log names a patient acting through this link (no staff user is signed in)."""
    return f"patient link {link.pk}"


def _link(key: str, kind: str) -> PatientLink | None:
    return (
        PatientLink.objects.select_related("patient", "session", "session__location", "session__clinician")
        .filter(key=key, kind__in=(kind,) if isinstance(kind, str) else kind)
        .first()
    )

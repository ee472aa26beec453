"""TOTP two-factor sign-in (django-otp's TOTPDevice; RFC 6238: SHA-1, 6 digits, 30 s), for the API and the web login.

A device counts once it is confirmed with a code from it; confirming a new one replaces the old
(a new phone). A code is good for its 30 s step and one step either side, once: django-otp
refuses a code already used and slows down repeated misses on a device.
"""

from base64 import b32encode

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def check_otp(device: TOTPDevice, code: str) -> bool:
    """The device's current code (row locked: two requests cannot both use one code)."""
    code = (code or "").strip()
    if not code:
        return False
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        return locked.verify_token(code)


def secret(device: TOTPDevice) -> str:
    """The key in base32 (RFC 4648), as authenticator apps take it when typed in."""
    return b32encode(device.bin_key).decode()


def start_enrolment(user) -> TOTPDevice:
    """A new, unconfirmed device (any earlier unconfirmed one is dropped)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def confirm_enrolment(device: TOTPDevice, code: str) -> bool:
    """Confirm the device with its current code; it replaces any device the user had before."""
    if not check_otp(device, code):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    device.confirmed = True
    return True

"""Patient contact details: phone numbers in E.164."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def normalise_phone(raw: str) -> str:
    """E.164 from international form, or national form read in DEFAULT_PHONE_REGION."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a phone number, e.g. +44 20 7946 0958.", code="invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number is not valid.", code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """For reading: national form for numbers of DEFAULT_PHONE_REGION ("(212) 555-0142"), else international."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == settings.DEFAULT_PHONE_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

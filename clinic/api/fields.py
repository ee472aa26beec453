"""Serializer fields every app's API shares, each with the schema that says exactly what it accepts.

Dates and datetimes lie in 1900–2200 (clinic/inputs.py), written as the patterns below, which the
fields enforce on the text itself: what the schema calls invalid is refused, and what it calls
valid is read (schemathesis checks both).
"""

import re

from django.db import models
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic import inputs
from clinic.timezones import iana_time_zones

_YEAR = r"(19[0-9]{2}|2[01][0-9]{2}|2200)"
_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = rf"^{_YEAR}-{_DAY}$"
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"  # RFC 3339: the seconds are not optional
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
DATETIME_PATTERN = rf"^{_YEAR}-{_DAY}T{_CLOCK}{_OFFSET}$"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"

DATE_SCHEMA = {"type": "string", "format": "date", "pattern": DATE_PATTERN, "example": "2027-03-30"}
DATETIME_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "pattern": DATETIME_PATTERN,
    "example": "2027-03-30T09:00:00-04:00",
}
UUID_SCHEMA = {"type": "string", "format": "uuid"}


def _matches(pattern: str, value) -> bool:
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


@extend_schema_field(DATE_SCHEMA)
class DateField(serializers.DateField):
    """`YYYY-MM-DD` in the years 1900–2200."""

    def to_internal_value(self, value):
        if isinstance(value, str) and not _matches(DATE_PATTERN, value):
            message = inputs.OUT_OF_RANGE if _matches(r"^\d{4,}-\d{2}-\d{2}$", value) else "Use YYYY-MM-DD."
            raise serializers.ValidationError(message)
        return super().to_internal_value(value)


@extend_schema_field(DATETIME_SCHEMA)
class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset, in the years 1900–2200; a datetime without an offset is refused (API.md)."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError("Give an offset, e.g. 2027-03-30T09:00:00-04:00.")
            if parsed is not None and not inputs.date_in_range(parsed):
                raise serializers.ValidationError(inputs.OUT_OF_RANGE)
            if not _matches(DATETIME_PATTERN, value):
                raise serializers.ValidationError("Use ISO 8601 with an offset, e.g. 2027-03-30T09:00:00-04:00.")
        return super().to_internal_value(value)


@extend_schema_field({"type": "string", "pattern": TIME_PATTERN, "example": "09:00"})
class TimeOfDayField(serializers.TimeField):
    """A wall-clock time `HH:MM` (or `HH:MM:SS`), written back as `HH:MM`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M")
        kwargs.setdefault("input_formats", ["%H:%M", "%H:%M:%S"])
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and not _matches(TIME_PATTERN, value):
            raise serializers.ValidationError("Use HH:MM, e.g. 09:00.")
        return super().to_internal_value(value)


@extend_schema_field({"type": "string", "enum": list(iana_time_zones()), "example": "America/New_York"})
class TimeZoneField(serializers.CharField):
    """A zone name of the IANA database (clinic.timezones.iana_time_zones)."""

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if value not in iana_time_zones():
            raise serializers.ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/London).")
        return value


SEARCH_SCHEMA = {"type": "string", "maxLength": 200, "pattern": NO_CONTROL_PATTERN}


@extend_schema_field(SEARCH_SCHEMA)
class SearchField(serializers.CharField):
    """Free text to search by: no control characters (a NUL would reach the database)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if inputs.has_control_characters(value):
            raise serializers.ValidationError("Search terms cannot contain control characters.")
        return value


class ModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose model date and datetime fields get the bounded fields above."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: DateField,
        models.DateTimeField: AwareDateTimeField,
    }


OTP_SCHEMA = {
    "oneOf": [{"type": "string", "pattern": r"^([0-9]{6})?$"}, {"type": "integer", "minimum": 0, "maximum": 999999}],
    "description": "the 6-digit code of the authenticator app (RFC 6238), as text or as a number",
    "example": "123456",
}


@extend_schema_field(OTP_SCHEMA)
class OtpField(serializers.Field):
    """A TOTP code: six digits as text (`"012345"`) or as a JSON number (`12345`); empty means none."""

    default_error_messages = {"invalid": "Give the 6-digit code of your authenticator app."}

    def to_internal_value(self, data) -> str:
        if isinstance(data, int) and not isinstance(data, bool) and 0 <= data <= 999_999:
            return f"{data:06d}"
        if isinstance(data, str) and re.fullmatch(r"([0-9]{6})?", data):
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value

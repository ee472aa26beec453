"""Serializer fields every app's API shares."""

from django.utils.dateparse import parse_datetime
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset; a datetime without one is refused (API.md, Conventions)."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError("Give an offset, e.g. 2027-03-30T09:00:00-04:00.")
        return super().to_internal_value(value)

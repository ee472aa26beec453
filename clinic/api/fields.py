"""Serializer fields every app's API shares: dates held to 1900–2200 (clinic/inputs.py)."""

from django.db import models
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from clinic import inputs


class DateField(serializers.DateField):
    """`YYYY-MM-DD` in the years 1900–2200."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not inputs.date_in_range(parsed):
            raise serializers.ValidationError(inputs.OUT_OF_RANGE)
        return parsed


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
        parsed = super().to_internal_value(value)
        if not inputs.date_in_range(parsed):
            raise serializers.ValidationError(inputs.OUT_OF_RANGE)
        return parsed


class SearchField(serializers.CharField):
    """Free text to search by: no control characters (a NUL would reach the database)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 200)
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

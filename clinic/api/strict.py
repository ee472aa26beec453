"""JSON bodies are read with the types the schema states (OpenAPI: /api/schema/).

DRF's fields coerce: `0` passes as `false`, `5` as `"5"`, `"5"` as `5`, `7` as a UUID. A
client that sends the wrong type has a bug the API should name, not guess around, and the
schema must be true to what is accepted (schemathesis checks both ways). So in a JSON body
(the parser marks it, `JSONBody`) a string field takes a string, a number field a number, a
boolean field `true` or `false`. Query strings, where everything is text, keep DRF's parsing.

Applied once, to DRF's own field classes, when the clinic app is ready (clinic/apps.py), so
that every serializer of every app holds to it.
"""

import numbers
import re

from django.db import models
from django.http import QueryDict
from rest_framework import fields, relations

TYPE_ERROR = "Expected {expected}, got {got}."


class JSONBody(dict):
    """A request body parsed from JSON (clinic.api.parsers): serializers given it check JSON types."""


def _in_json_body(field) -> bool:
    return isinstance(getattr(field.root, "initial_data", None), JSONBody)


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, numbers.Number):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_string(value) -> bool:
    return isinstance(value, str)


def _is_integer(value) -> bool:
    # JSON has one number type: 3.0 is the integer 3 (JSON Schema agrees), 3.5 is not.
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_boolean(value) -> bool:
    return isinstance(value, bool)


_RULES = [
    (fields.CharField, _is_string, "a string"),
    (fields.UUIDField, _is_string, "a string"),
    (fields.DateField, _is_string, "a string"),
    (fields.DateTimeField, _is_string, "a string"),
    (fields.TimeField, _is_string, "a string"),
    (fields.DurationField, _is_string, "a string"),
    (fields.IntegerField, _is_integer, "an integer"),
    (fields.FloatField, _is_number, "a number"),
    (fields.DecimalField, _is_number, "a number"),
    (fields.BooleanField, _is_boolean, "true or false"),
]


def _strict(cls, accepts, expected: str) -> None:
    original = cls.to_internal_value
    if getattr(original, "_json_strict", False):
        return

    def to_internal_value(self, data):
        if _in_json_body(self) and not accepts(data):
            raise fields.ValidationError(TYPE_ERROR.format(expected=expected, got=_json_type(data)), code="invalid")
        return original(self, data)

    to_internal_value._json_strict = True
    cls.to_internal_value = to_internal_value


def _strict_choice(original):
    def to_internal_value(self, data):
        if _in_json_body(self) and not isinstance(data, str) and all(isinstance(k, str) for k in self.choices):
            raise fields.ValidationError(TYPE_ERROR.format(expected="a string", got=_json_type(data)), code="invalid")
        return original(self, data)

    to_internal_value._json_strict = True
    return to_internal_value


def _strict_primary_key(original):
    """A reference is the type of the row's key: a UUID string, or an integer for users."""

    def to_internal_value(self, data):
        if _in_json_body(self) and self.pk_field is None:
            integer_key = isinstance(self.get_queryset().model._meta.pk, models.AutoField | models.BigAutoField)
            expected, accepts = ("an integer", _is_integer) if integer_key else ("a string", _is_string)
            if not accepts(data):
                message = TYPE_ERROR.format(expected=expected, got=_json_type(data))
                raise fields.ValidationError(message, code="incorrect_type")
        return original(self, data)

    to_internal_value._json_strict = True
    return to_internal_value


_CANONICAL_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _canonical_uuid(original):
    """An id is written 8-4-4-4-12 (the schema's `format: uuid`), in a body or a query string alike."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not _CANONICAL_UUID.match(data):
            raise fields.ValidationError(f"“{data}” is not a valid UUID.", code="invalid")
        return original(self, data)

    to_internal_value._canonical = True
    return to_internal_value


def _strict_list(original):
    def to_internal_value(self, data):
        if _in_json_body(self) and not isinstance(data, list):
            raise fields.ValidationError(TYPE_ERROR.format(expected="a list", got=_json_type(data)), code="not_a_list")
        return original(self, data)

    to_internal_value._json_strict = True
    return to_internal_value


def _related_run_validation(original):
    def run_validation(self, data=fields.empty):
        # DRF reads "" as null for a reference; in JSON, null is null and "" is a string that names nothing.
        if data == "" and _in_json_body(self):
            raise fields.ValidationError(
                TYPE_ERROR.format(expected="an id", got="an empty string"), code="incorrect_type"
            )
        return original(self, data)

    run_validation._json_strict = True
    return run_validation


def _query_get_value(original):
    """`?to=` is a value (an empty one, which a date or an id is not), not a missing parameter."""

    def get_value(self, dictionary):
        if (
            isinstance(dictionary, QueryDict)
            and dictionary.get(self.field_name) == ""
            and not getattr(self, "allow_blank", False)
        ):
            return ""
        return original(self, dictionary)

    get_value._json_strict = True
    return get_value


def install() -> None:
    if not getattr(relations.RelatedField.run_validation, "_json_strict", False):
        relations.RelatedField.run_validation = _related_run_validation(relations.RelatedField.run_validation)
    if not getattr(fields.Field.get_value, "_json_strict", False):
        fields.Field.get_value = _query_get_value(fields.Field.get_value)
    for cls in (relations.ManyRelatedField, fields.ListField, fields.MultipleChoiceField):
        if not getattr(cls.to_internal_value, "_json_strict", False):
            cls.to_internal_value = _strict_list(cls.to_internal_value)
    for cls, accepts, expected in _RULES:
        _strict(cls, accepts, expected)
    if not getattr(fields.ChoiceField.to_internal_value, "_json_strict", False):
        fields.ChoiceField.to_internal_value = _strict_choice(fields.ChoiceField.to_internal_value)
    if not getattr(fields.UUIDField.to_internal_value, "_canonical", False):
        fields.UUIDField.to_internal_value = _canonical_uuid(fields.UUIDField.to_internal_value)
    related = relations.PrimaryKeyRelatedField
    if not getattr(related.to_internal_value, "_json_strict", False):
        related.to_internal_value = _strict_primary_key(related.to_internal_value)

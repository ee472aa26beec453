"""OpenAPI pieces shared by every app: the error body of API.md and the usual error responses."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine-readable: validation_error, not_found, slot_unavailable...")
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="only for validation_error: messages per field (nested fields dotted)",
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


VALIDATION_ERROR = {400: _error("validation_error")}
AUTH_ERRORS = {
    401: _error("not_authenticated"),
    403: _error("permission_denied"),
}
NOT_FOUND = {404: _error("not_found")}

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
CONFLICT = {409: _error("slot_unavailable, patient_busy or invalid_transition")}
RULE_VIOLATION = {
    422: _error("too_soon (with `earliest`), not_eligible (with `reasons`), dose_limit or authorization_required")
}


def add_error_responses(result, generator, request, public):
    """POSTPROCESSING_HOOK: the errors every operation can answer, in the shape of API.md.

    401 and 403 wherever a login is needed, 404 under an `{id}` and on paginated lists (a page
    past the last), 400 wherever a body or a query is read. Operations that describe one of
    these themselves keep their own description.
    """
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    ref = {"$ref": "#/components/schemas/Error"}

    def error(description: str) -> dict:
        return {"content": {"application/json": {"schema": ref}}, "description": description}

    for path, operations in result["paths"].items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if any("tokenAuth" in scheme for scheme in operation.get("security") or []):
                responses.setdefault("401", error("not_authenticated"))
                responses.setdefault("403", error("permission_denied"))
            paginated = any(parameter.get("name") == "page" for parameter in operation.get("parameters", []))
            if "{" in path or paginated:
                responses.setdefault("404", error("not_found"))
            queried = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
            if "requestBody" in operation or queried:
                responses.setdefault("400", error("validation_error"))
    return result

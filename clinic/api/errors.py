"""Every API error in one shape: {"code", "detail", "fields"?} (API.md, Conventions)."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from clinic.errors import DomainError

logger = logging.getLogger(__name__)

_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "validation_error",
    exceptions.ValidationError: "validation_error",
}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [msg for value in detail.values() for msg in _flatten(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in _flatten(item)]
    return [str(detail)]


def _fields(detail) -> dict:
    """DRF's nested ValidationError detail as {field: [messages]}; nested fields dotted."""
    if isinstance(detail, list):
        return {"non_field_errors": _flatten(detail)}
    out: dict[str, list[str]] = {}
    for key, value in detail.items():
        if isinstance(value, dict):
            for sub, messages in _fields(value).items():
                out[f"{key}.{sub}"] = messages
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for index, item in enumerate(value):
                for sub, messages in _fields(item).items():
                    out[f"{key}.{index}.{sub}"] = messages
        else:
            out[str(key)] = _flatten(value)
    return out


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500 (JSON under /api/)

    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ParseError):
        # Malformed input is a validation error too, and those always name `fields` (API.md).
        body = {"code": code, "detail": str(exc.detail), "fields": {"non_field_errors": [str(exc.detail)]}}
    elif isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        body = {"code": code, "detail": "Invalid input.", "fields": fields}
        if list(fields) == ["non_field_errors"]:
            body["detail"] = " ".join(fields["non_field_errors"])
    else:
        body = {"code": code, "detail": str(exc.detail)}
    return Response(body, status=exc.status_code, headers=headers)


def json_404(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_500(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "server_error", "detail": "Something went wrong on our side; it has been logged."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error

    return server_error(request)


def json_403(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "permission_denied", "detail": "You do not have permission."}, status=403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def json_400(request, exception=None):
    if request.path.startswith("/api/"):
        body = {"code": "validation_error", "detail": "Bad request.", "fields": {"non_field_errors": ["Bad request."]}}
        return JsonResponse(body, status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)

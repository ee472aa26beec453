"""The one exception family for business-rule failures.

Services raise `DomainError` (or a subclass) with a machine-readable `code`; the
API maps it once to the JSON error shape of API.md and the UI to a form error.
"""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "validation_error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        elif self.code == "validation_error":
            body["fields"] = {"non_field_errors": [self.detail]}  # API.md: validation errors name fields
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status_code = 400
    code = "validation_error"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class Conflict(DomainError):
    """409: the request is well-formed but collides with the state of the clinic."""

    status_code = 409


class RuleViolation(DomainError):
    """422: a clinical or payer rule refuses the request (too_soon, dose_limit...)."""

    status_code = 422

from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_cool_off, get_lockout_message
from django.contrib.auth import authenticate
from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from clinic.api.schema import ErrorSerializer
from clinic.errors import DomainError


class TokenInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class ObtainToken(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        request=TokenInput,
        responses={
            200: inline_serializer("TokenOutput", {"token": serializers.CharField()}),
            400: OpenApiResponse(ErrorSerializer, description="validation_error: bad credentials"),
            429: OpenApiResponse(ErrorSerializer, description="throttled: too many attempts, or locked out"),
        },
        auth=[],
    )
    def post(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            # The plain HttpRequest: django-axes counts failures against it.
            user = authenticate(request._request, **data.validated_data)
        except AxesBackendPermissionDenied:
            user = None
            locked = True
        else:
            locked = getattr(request._request, "axes_locked_out", False)
        if locked:
            raise DomainError(LOCKED_OUT, code="throttled", status_code=429)
        if user is None or not user.is_active:
            raise DomainError(
                "Unable to log in with those credentials.",
                fields={"non_field_errors": ["Unable to log in with those credentials."]},
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


LOCKED_OUT = "Too many failed attempts; this account is locked for a while."


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: AxesMiddleware replaces a locked-out response with this one.

    Under /api/ it is the JSON error shape of API.md (429 `throttled`); elsewhere axes' plain message.
    """
    cool_off = get_cool_off(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "throttled", "detail": LOCKED_OUT}, status=429)
    else:
        response = HttpResponse(get_lockout_message(), status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response

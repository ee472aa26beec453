"""Signing in to the API: tokens that expire, logout, and TOTP two-factor sign-in (API.md, Security).

- A token lives API_TOKEN_TTL_HOURS (12) from issue; after that it answers 401 and is gone.
  `POST /auth/logout/` revokes it at once. One token per user (DRF's Token): asking again
  before it expires returns the same one.
- Staff with a confirmed TOTP device (django-otp, RFC 6238: SHA-1, 6 digits, 30 s) send
  `otp` with their password; roles in MFA_REQUIRED_ROLES get no token before enrolling
  (at the web login, which walks them through it, or here with a token they already hold).
- Every failure, a wrong code included, counts towards the login lockout (clinic/lockout.py).
"""

from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_cool_off, get_lockout_message
from django.conf import settings
from django.contrib.auth import authenticate, logout, user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from clinic.api.authentication import token_expired
from clinic.api.fields import OtpField
from clinic.api.schema import ErrorSerializer
from clinic.errors import DomainError, PermissionDenied, ValidationFailed
from clinic.roles import IsStaff, second_factor_required
from clinic.totp import check_otp, confirm_enrolment, confirmed_device, start_enrolment
from clinic.totp import secret as totp_secret

LOCKED_OUT = "Too many failed attempts; this account is locked for a while."


def otp_failed(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"otp": [message]})


class TokenInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(trim_whitespace=False, max_length=4096, style={"input_type": "password"})
    otp = OtpField(required=False)


class ObtainToken(APIView):
    """Exchange a username and password (and the TOTP code, once enrolled) for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        request=TokenInput,
        responses={
            200: inline_serializer("TokenOutput", {"token": serializers.CharField()}),
            400: OpenApiResponse(ErrorSerializer, description="validation_error: bad credentials or `otp`"),
            403: OpenApiResponse(ErrorSerializer, description="permission_denied: the role must enrol in TOTP first"),
            429: OpenApiResponse(ErrorSerializer, description="throttled: too many attempts, or locked out"),
        },
        auth=[],
    )
    def post(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = {"username": data.validated_data["username"], "password": data.validated_data["password"]}
        http_request = request._request  # the plain HttpRequest: django-axes counts failures against it
        try:
            user = authenticate(http_request, **credentials)
        except AxesBackendPermissionDenied:
            user = None
            locked = True
        else:
            locked = getattr(http_request, "axes_locked_out", False)
        if locked:
            raise DomainError(LOCKED_OUT, code="throttled", status_code=429)
        if user is None or not user.is_active:
            raise DomainError(
                "Unable to log in with those credentials.",
                fields={"non_field_errors": ["Unable to log in with those credentials."]},
            )
        device = confirmed_device(user)
        if device is None and second_factor_required(user):
            raise PermissionDenied(
                "Your role signs in with a second factor: set up an authenticator app at the web login "
                f"({settings.SITE_URL}{settings.LOGIN_URL}) first."
            )
        if device is not None and not check_otp(device, data.validated_data.get("otp", "")):
            user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=http_request)
            if getattr(http_request, "axes_locked_out", False):
                raise DomainError(LOCKED_OUT, code="throttled", status_code=429)
            missing = not data.validated_data.get("otp")
            raise otp_failed(
                "Give the 6-digit code of your authenticator app." if missing else "That code is not right."
            )
        user_logged_in.send(sender=user.__class__, request=http_request, user=user)  # clears the lockout counts
        with transaction.atomic():
            token = Token.objects.select_for_update().filter(user=user).first()
            if token is not None and token_expired(token):
                token.delete()
                token = None
            if token is None:
                token = Token.objects.create(user=user)
        return Response({"token": token.key})


class Logout(APIView):
    """Revoke the caller's token (or end the browser session)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="token revoked")})
    def post(self, request):
        if isinstance(request.auth, Token):
            Token.objects.filter(pk=request.auth.pk).delete()
            user_logged_out.send(sender=request.user.__class__, request=request._request, user=request.user)
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TotpEnrolInput(serializers.Serializer):
    otp = OtpField(required=False, help_text="the current code, to replace an enrolled device")


class TotpEnrolOutput(serializers.Serializer):
    secret = serializers.CharField(help_text="base32 (RFC 4648), for typing into an authenticator app")
    otpauth_url = serializers.CharField(help_text="otpauth://totp/... (SHA-1, 6 digits, 30 s): the QR code's content")


class TotpEnrol(APIView):
    """Start TOTP enrolment: a new secret for an authenticator app, confirmed by /auth/totp/confirm/."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=TotpEnrolInput,
        responses={201: TotpEnrolOutput, 400: OpenApiResponse(ErrorSerializer, description="validation_error")},
    )
    def post(self, request):
        data = TotpEnrolInput(data=request.data)
        data.is_valid(raise_exception=True)
        current = confirmed_device(request.user)
        if current is not None and not check_otp(current, data.validated_data.get("otp", "")):
            # A stolen token must not be enough to move the second factor to another phone.
            raise otp_failed("Give the current code of your enrolled authenticator to replace it.")
        device = start_enrolment(request.user)
        return Response(
            TotpEnrolOutput({"secret": totp_secret(device), "otpauth_url": device.config_url}).data,
            status=status.HTTP_201_CREATED,
        )


class TotpConfirmInput(serializers.Serializer):
    otp = OtpField()


class TotpConfirm(APIView):
    """Confirm the device started by /auth/totp/ with its current code: from then on logins need a code."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=TotpConfirmInput,
        responses={
            200: inline_serializer("TotpConfirmOutput", {"confirmed": serializers.BooleanField()}),
            400: OpenApiResponse(ErrorSerializer, description="validation_error: wrong code (`fields.otp`)"),
        },
    )
    def post(self, request):
        data = TotpConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("-id").first()
        if device is None:
            raise otp_failed("Nothing to confirm: start with POST /api/v1/auth/totp/.")
        if not confirm_enrolment(device, data.validated_data["otp"]):
            raise otp_failed("That code is not right.")
        return Response({"confirmed": True})


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

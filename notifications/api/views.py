from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator

from clinic.api.schema import ErrorSerializer
from clinic.audit import audit_record
from clinic.errors import PermissionDenied
from clinic.models import AuditLog
from clinic.roles import IsStaff
from notifications import selectors, services
from notifications.api.serializers import InboundSmsSerializer, NotificationFilterSerializer, NotificationSerializer
from notifications.models import Notification
from patients.contact import normalise_phone

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class NotificationList(GenericAPIView):
    """Front desk and clinicians see what will be, was, or will not be sent (DESIGN §6)."""

    permission_classes = [IsStaff]
    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; rows come from the selector

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", OpenApiTypes.UUID),
            OpenApiParameter("session", OpenApiTypes.UUID),
            OpenApiParameter("status", str, enum=Notification.Status.values),
        ],
        responses=NotificationSerializer(many=True),
    )
    def get(self, request):
        filters = NotificationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.notification_list(**filters.validated_data))
        audit_record(
            request=request,
            action=AuditLog.Action.READ,
            resource="notification",
            patient_ids=[n.patient_id for n in page],
        )
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)


def _signature_valid(request) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not token or not signature:
        return False
    # Twilio signs the URL it called: the public one, not what a proxy hands us.
    url = settings.SITE_URL + request.get_full_path()
    params = {key: request.POST.get(key) for key in request.POST}
    return RequestValidator(token).validate(url, params, signature)


class InboundSmsWebhook(APIView):
    """Inbound SMS from the provider. STOP-family words opt out at once, START opts back in."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]
    throttle_classes: list = []

    @extend_schema(
        request={"application/x-www-form-urlencoded": InboundSmsSerializer},
        responses={
            200: OpenApiResponse(description="empty TwiML"),
            403: OpenApiResponse(ErrorSerializer, description="permission_denied: bad signature"),
        },
    )
    def post(self, request):
        if not _signature_valid(request):
            raise PermissionDenied("The provider signature is missing or invalid.")
        data = InboundSmsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sender = data.validated_data["From"]
        try:
            sender = normalise_phone(sender)
        except DjangoValidationError:
            sender = sender[:32]  # unreadable: no patient matches, but the replay record is kept
        services.inbound_sms_receive(
            provider_message_id=data.validated_data["MessageSid"], from_number=sender, body=data.validated_data["Body"]
        )
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")

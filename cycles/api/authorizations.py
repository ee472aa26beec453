"""Prior authorisations (front desk and clinicians), and the reauthorisation packet and the referral
letter (clinicians only), as JSON or PDF."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from clinic.api.schema import AUTH_ERRORS, NOT_FOUND, VALIDATION_ERROR
from clinic.audit import audit_record
from clinic.errors import ValidationFailed
from clinic.models import AuditLog
from clinic.roles import IsClinician, IsStaff
from cycles import authorizations, packets
from cycles.api.serializers import (
    AuthorizationInputSerializer,
    AuthorizationQuerySerializer,
    AuthorizationSerializer,
    LetterSerializer,
    ReauthorizationSerializer,
)
from cycles.models import Authorization, Course

Action = AuditLog.Action


def _course(pk) -> Course:
    return get_object_or_404(Course.objects.select_related("patient", "protocol"), pk=pk)


class CourseAuthorizations(GenericAPIView):
    """A course's prior authorisations: list and record one."""

    queryset = Authorization.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = AuthorizationSerializer

    @extend_schema(operation_id="course_authorizations_list", responses=AuthorizationSerializer(many=True))
    def get(self, request, pk):
        course = _course(pk)
        page = self.paginate_queryset(authorizations.authorization_list(course=course))
        rows = authorizations.with_usage(page)
        audit_record(request=request, action=Action.READ, resource="authorization", patient_ids=[course.patient_id])
        return self.get_paginated_response(AuthorizationSerializer(rows, many=True).data)

    @extend_schema(request=AuthorizationInputSerializer, responses={201: AuthorizationSerializer, **VALIDATION_ERROR})
    def post(self, request, pk):
        course = _course(pk)
        data = AuthorizationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = authorizations.authorization_create(course=course, by=request.user, **data.validated_data)
        audit_record(
            request=request,
            action=Action.CREATE,
            resource="authorization",
            patient_ids=[course.patient_id],
            object_id=created.pk,
            detail=f"{created.status} {created.valid_from}–{created.valid_to}",
        )
        return Response(AuthorizationSerializer(_fresh(created.pk)).data, status=status.HTTP_201_CREATED)


def _fresh(pk) -> Authorization:
    [row] = authorizations.with_usage(authorizations.authorization_list().filter(pk=pk))
    return row


class AuthorizationList(GenericAPIView):
    """Every course's authorisations; `expiring_within_days` makes it the renewal work queue."""

    queryset = Authorization.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = AuthorizationSerializer

    @extend_schema(
        operation_id="authorizations_list",
        parameters=[AuthorizationQuerySerializer],
        responses=AuthorizationSerializer(many=True),
    )
    def get(self, request):
        query = AuthorizationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        v = query.validated_data
        if v.get("expiring_within_days") is not None:
            rows = authorizations.expiring_authorizations(within_days=v["expiring_within_days"], status=v.get("status"))
            rows = [
                a
                for a in rows
                if (not v.get("course") or a.course_id == v["course"])
                and (not v.get("patient") or a.course.patient_id == v["patient"])
            ]
            page = self.paginate_queryset(rows)
        else:
            listed = authorizations.authorization_list(status=v.get("status"))
            if v.get("course"):
                listed = listed.filter(course_id=v["course"])
            if v.get("patient"):
                listed = listed.filter(course__patient_id=v["patient"])
            page = authorizations.with_usage(self.paginate_queryset(listed))
        audit_record(
            request=request,
            action=Action.READ,
            resource="authorization",
            patient_ids=[a.course.patient_id for a in page],
        )
        return self.get_paginated_response(AuthorizationSerializer(page, many=True).data)


class AuthorizationDetail(GenericAPIView):
    queryset = Authorization.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = AuthorizationSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, pk):
        authorization = get_object_or_404(authorizations.authorization_list(), pk=pk)
        [row] = authorizations.with_usage([authorization])
        audit_record(
            request=request,
            action=Action.READ,
            resource="authorization",
            patient_ids=[row.course.patient_id],
            object_id=row.pk,
        )
        return Response(AuthorizationSerializer(row).data)

    @extend_schema(request=AuthorizationInputSerializer, responses={200: AuthorizationSerializer, **VALIDATION_ERROR})
    def patch(self, request, pk):
        authorization = get_object_or_404(authorizations.authorization_list(), pk=pk)
        data = AuthorizationInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        updated = authorizations.authorization_update(
            authorization=authorization, by=request.user, **data.validated_data
        )
        changed = ", ".join(f"{k}={v}" for k, v in data.validated_data.items() if k != "notes")
        audit_record(
            request=request,
            action=Action.UPDATE,
            resource="authorization",
            patient_ids=[authorization.course.patient_id],
            object_id=updated.pk,
            detail=changed,
        )
        return Response(AuthorizationSerializer(_fresh(updated.pk)).data)


# --- the packet and the letter ------------------------------------------------------------------------


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class _PacketView(GenericAPIView):
    """JSON by default; `Accept: application/pdf` or `?format=pdf` for the PDF. Errors stay JSON."""

    queryset = Course.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsClinician]
    renderer_classes = [JSONRenderer, PDFRenderer]
    resource = ""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and isinstance(getattr(response, "accepted_renderer", None), PDFRenderer):
            # An error is the API's JSON error body, whatever the client asked for.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    def json(self, request, packet: dict) -> dict:
        raise NotImplementedError

    def pdf(self, request, packet: dict) -> bytes:
        raise NotImplementedError

    def get(self, request, pk):
        if request.query_params.get("format") not in (None, "json", "pdf"):
            raise ValidationFailed("format is json or pdf.", fields={"format": ["json or pdf."]})
        course = _course(pk)
        packet = packets.reauthorization_packet(course=course)
        as_pdf = isinstance(request.accepted_renderer, PDFRenderer)
        audit_record(
            request=request,
            action=Action.EXPORT if as_pdf else Action.READ,
            resource=self.resource,
            patient_ids=[course.patient_id],
            object_id=course.pk,
        )
        if as_pdf:
            name = f"{self.resource}-{course.patient.mrn}.pdf"
            return Response(
                self.pdf(request, packet),
                content_type=PDFRenderer.media_type,
                # A patient's record: no cache keeps a copy.
                headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
            )
        return Response(self.json(request, packet))


def _signed_by(user) -> str:
    clinician = getattr(user, "clinician", None)
    return clinician.name if clinician is not None else (user.get_full_name() or user.get_username())


FORMAT = OpenApiParameter("format", str, enum=["json", "pdf"], description="pdf: the same as a PDF")
PDF = OpenApiResponse(OpenApiTypes.BINARY, description="the PDF")


class CourseReauthorization(_PacketView):
    """The reauthorisation packet a payer asks for (clinicians only)."""

    serializer_class = ReauthorizationSerializer
    resource = "reauthorization"

    @extend_schema(
        parameters=[FORMAT],
        responses={
            (200, "application/json"): ReauthorizationSerializer,
            (200, "application/pdf"): PDF,
            **VALIDATION_ERROR,
            **AUTH_ERRORS,
            **NOT_FOUND,
        },
    )
    def get(self, request, pk):
        return super().get(request, pk)

    def json(self, request, packet: dict) -> dict:
        return ReauthorizationSerializer(packet).data

    def pdf(self, request, packet: dict) -> bytes:
        return packets.packet_pdf(packet)


class CourseLetter(_PacketView):
    """The letter to the referring clinician, with the figures and the next due window (clinicians only)."""

    serializer_class = LetterSerializer
    resource = "letter"

    @extend_schema(
        parameters=[FORMAT],
        responses={
            (200, "application/json"): LetterSerializer,
            (200, "application/pdf"): PDF,
            **VALIDATION_ERROR,
            **AUTH_ERRORS,
            **NOT_FOUND,
        },
    )
    def get(self, request, pk):
        return super().get(request, pk)

    def json(self, request, packet: dict) -> dict:
        return LetterSerializer({**packet, "signed_by": _signed_by(request.user)}).data

    def pdf(self, request, packet: dict) -> bytes:
        return packets.letter_pdf(packet, signed_by=_signed_by(request.user))

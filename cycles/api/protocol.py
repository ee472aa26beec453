"""Protocol profiles (clinic_admin writes, every staff role reads) and courses (clinicians change them)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api.schema import CONFLICT
from clinic.audit import audit_record
from clinic.errors import PermissionDenied
from clinic.models import AuditLog
from clinic.roles import IsStaff, ReadStaffWriteAdmin, is_clinician
from cycles import selectors, services
from cycles.api.serializers import CourseQuerySerializer, CourseSerializer, CourseUpdateSerializer, ProtocolSerializer
from cycles.models import Course, Protocol


class ProtocolList(GenericAPIView):
    queryset = Protocol.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = ProtocolSerializer

    @extend_schema(operation_id="protocols_list", responses=ProtocolSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(Protocol.objects.order_by("-is_default", "name", "pk"))
        return self.get_paginated_response(ProtocolSerializer(page, many=True).data)

    @extend_schema(responses={201: ProtocolSerializer})
    def post(self, request):
        data = ProtocolSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        protocol = services.protocol_create(**data.validated_data)
        return Response(ProtocolSerializer(protocol).data, status=status.HTTP_201_CREATED)


class ProtocolDetail(GenericAPIView):
    """One profile (`/protocols/{id}/`), or the default profile (`/protocol/`); only a clinic admin changes it."""

    queryset = Protocol.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = ProtocolSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def profile(self, pk) -> Protocol:
        return get_object_or_404(Protocol, pk=pk) if pk is not None else Protocol.default()

    def get(self, request, pk=None):
        return Response(ProtocolSerializer(self.profile(pk)).data)

    def patch(self, request, pk=None):
        protocol = self.profile(pk)
        data = ProtocolSerializer(protocol, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(ProtocolSerializer(services.protocol_update(protocol=protocol, **data.validated_data)).data)


class CourseList(GenericAPIView):
    queryset = Course.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = CourseSerializer

    @extend_schema(
        operation_id="courses_list",
        parameters=[
            OpenApiParameter("patient", str, description="a patient's id"),
            OpenApiParameter("status", str, enum=Course.Status.values),
        ],
        responses=CourseSerializer(many=True),
    )
    def get(self, request):
        query = CourseQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.course_list(**query.validated_data))
        rows = [selectors.course_dates(course) for course in page]
        audit_record(
            request=request, action=AuditLog.Action.READ, resource="course", patient_ids=[c.patient_id for c in rows]
        )
        return self.get_paginated_response(CourseSerializer(rows, many=True).data)


class CourseDetail(GenericAPIView):
    """A course; a clinician may move it to another protocol profile, or pause or resume it."""

    queryset = Course.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = CourseSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def course(self, pk) -> Course:
        return selectors.course_dates(get_object_or_404(selectors.course_list(), pk=pk))

    def get(self, request, pk):
        course = self.course(pk)
        audit_record(request=request, action=AuditLog.Action.READ, resource="course", obj=course)
        return Response(CourseSerializer(course).data)

    @extend_schema(request=CourseUpdateSerializer, responses={200: CourseSerializer, **CONFLICT})
    def patch(self, request, pk):
        if not is_clinician(request.user):
            raise PermissionDenied("Only a clinician may change a course.")
        course = self.course(pk)
        data = CourseUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.course_update(course=course, by=request.user, **data.validated_data)
        changed = ", ".join(f"{k}={getattr(v, 'name', v)}" for k, v in data.validated_data.items())
        audit_record(request=request, action=AuditLog.Action.UPDATE, resource="course", obj=course, detail=changed)
        return Response(CourseSerializer(self.course(pk)).data)

"""GET /api/v1/due/: courses due a treatment with nothing booked (front desk and clinicians)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from clinic.audit import audit_record
from clinic.models import AuditLog
from clinic.roles import IsStaff
from cycles import due
from cycles.models import Course

MAX_WITHIN_DAYS = 366


class DueQuery(serializers.Serializer):
    within_days = serializers.IntegerField(required=False, default=14, min_value=0, max_value=MAX_WITHIN_DAYS)


class DueAuthorizationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "missing", "expiring", "not_required"],
        help_text="missing: no approval still valid with a treatment left; expiring: it ends within 30 days or "
        "has one treatment left",
    )
    valid_to = serializers.DateField(allow_null=True)
    treatments_left = serializers.IntegerField(allow_null=True)


class DueRowSerializer(serializers.Serializer):
    patient = serializers.UUIDField(source="patient_id")
    patient_name = serializers.CharField()
    course = serializers.UUIDField(source="course_id")
    location = serializers.UUIDField(source="location_id")
    last_treatment = serializers.DateField()
    due_from = serializers.DateField()
    due_by = serializers.DateField()
    overdue = serializers.BooleanField()
    auto_booking_failed = serializers.BooleanField(help_text="the planner found no free slot in the window")
    authorization = DueAuthorizationSerializer(help_text="the course's prior authorisation")


class DueList(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = DueRowSerializer
    queryset = Course.objects.none()  # for the schema; rows come from scheduling.due

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "within_days",
                {"type": "integer", "minimum": 0, "maximum": MAX_WITHIN_DAYS},
                description="due_from at most this many days after today (14)",
            )
        ],
        responses=DueRowSerializer(many=True),
    )
    def get(self, request):
        query = DueQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(due.due_list(within_days=query.validated_data["within_days"]))
        rows = due.due_rows(page)
        audit_record(
            request=request, action=AuditLog.Action.READ, resource="due_list", patient_ids=[r.patient_id for r in rows]
        )
        return self.get_paginated_response(DueRowSerializer(rows, many=True).data)

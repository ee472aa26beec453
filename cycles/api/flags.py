"""Review flags: the clinician's queue (front desk → 403)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api.schema import CONFLICT
from clinic.audit import audit_record
from clinic.models import AuditLog
from clinic.roles import IsClinician
from cycles import flags, selectors
from cycles.models import ReviewFlag


class FlagQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReviewFlag.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=ReviewFlag.Kind.choices, required=False)


class ReviewFlagSerializer(serializers.ModelSerializer):
    # Empty until the flag is resolved: the schema says so (it listed only the four decisions).
    decision = serializers.ChoiceField(choices=ReviewFlag.Decision.choices, allow_blank=True, read_only=True)

    class Meta:
        model = ReviewFlag
        fields = [
            "id",
            "patient",
            "course",
            "session",
            "kind",
            "cycle",
            "details",
            "status",
            "raised_at",
            "decision",
            "note",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = fields


class ResolveInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewFlag.Decision.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReviewFlagList(GenericAPIView):
    permission_classes = [IsClinician]
    serializer_class = ReviewFlagSerializer
    queryset = ReviewFlag.objects.none()  # for the schema; rows come from cycles.selectors

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=ReviewFlag.Status.values),
            OpenApiParameter("kind", str, enum=ReviewFlag.Kind.values),
        ],
        responses=ReviewFlagSerializer(many=True),
    )
    def get(self, request):
        query = FlagQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.review_flags(**query.validated_data))
        audit_record(
            request=request,
            action=AuditLog.Action.READ,
            resource="review_flag",
            patient_ids=[f.patient_id for f in page],
        )
        return self.get_paginated_response(ReviewFlagSerializer(page, many=True).data)


class ReviewFlagResolve(GenericAPIView):
    permission_classes = [IsClinician]
    serializer_class = ReviewFlagSerializer
    queryset = ReviewFlag.objects.none()

    @extend_schema(request=ResolveInput, responses={200: ReviewFlagSerializer, **CONFLICT})
    def post(self, request, pk):
        flag = get_object_or_404(ReviewFlag, pk=pk)
        data = ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        flag = flags.review_flag_resolve(flag=flag, resolved_by=request.user, **data.validated_data)
        audit_record(request=request, action=AuditLog.Action.UPDATE, resource="review_flag", obj=flag)
        return Response(ReviewFlagSerializer(flag).data)

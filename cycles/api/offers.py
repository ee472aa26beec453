"""Slot offers: the freed treatment slots and to whom they went (front desk and clinicians).

The patient answers by the link in the offer; staff record an answer given by phone or at
the desk through accept and decline here, with the same rules (the first accept wins, a
later one is 409 `slot_taken`).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api.schema import RULE_VIOLATION, ErrorSerializer
from clinic.audit import audit_record
from clinic.models import AuditLog
from clinic.roles import IsStaff
from cycles import offers, selectors
from cycles.models import SlotOffer


class SlotOfferQuery(serializers.Serializer):
    session = serializers.UUIDField(required=False)
    patient = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=SlotOffer.Status.choices, required=False)


class SlotOfferSerializer(serializers.ModelSerializer):
    session = serializers.UUIDField(source="freed_slot.session_id", help_text="the cancelled session whose slot")
    start = serializers.DateTimeField(source="freed_slot.session.start")
    end = serializers.DateTimeField(source="freed_slot.session.end")
    clinician = serializers.UUIDField(source="freed_slot.session.clinician_id")
    location = serializers.UUIDField(source="freed_slot.session.location_id")
    booked_session = serializers.UUIDField(source="booked_id", allow_null=True, help_text="booked by the accept")
    moves = serializers.UUIDField(
        source="moves_id", allow_null=True, help_text="the later treatment an accept moves (when offered)"
    )

    class Meta:
        model = SlotOffer
        fields = [
            "id",
            "session",
            "patient",
            "course",
            "start",
            "end",
            "clinician",
            "location",
            "status",
            "rank",
            "offered_at",
            "responded_at",
            "booked_session",
            "moves",
        ]
        read_only_fields = fields


class SlotOfferList(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = SlotOfferSerializer
    queryset = SlotOffer.objects.none()  # for the schema; rows come from cycles.selectors

    @extend_schema(
        parameters=[
            OpenApiParameter("session", OpenApiTypes.UUID, description="the cancelled session whose slot is offered"),
            OpenApiParameter("patient", OpenApiTypes.UUID),
            OpenApiParameter("status", str, enum=SlotOffer.Status.values),
        ],
        responses=SlotOfferSerializer(many=True),
    )
    def get(self, request):
        query = SlotOfferQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.slot_offer_list(**query.validated_data))
        audit_record(
            request=request,
            action=AuditLog.Action.READ,
            resource="slot_offer",
            patient_ids=[o.patient_id for o in page],
        )
        return self.get_paginated_response(SlotOfferSerializer(page, many=True).data)


TAKEN_OR_ENDED = {
    409: OpenApiResponse(
        ErrorSerializer, description="slot_taken (another patient took the slot), patient_busy, invalid_transition"
    )
}


def _answer(request, pk, service) -> Response:
    offer = get_object_or_404(SlotOffer.objects.select_related("freed_slot"), pk=pk)
    try:
        offer = service(offer=offer, by=request.user)
    except offers.SlotTaken:
        offers.slot_offer_lost(offer=offer)  # nothing was booked; the slot's open offers now say taken
        raise
    audit_record(request=request, action=AuditLog.Action.UPDATE, resource="slot_offer", obj=offer)
    return Response(SlotOfferSerializer(selectors.slot_offer_list().get(pk=offer.pk)).data)


class SlotOfferAccept(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = SlotOfferSerializer
    queryset = SlotOffer.objects.none()

    @extend_schema(request=None, responses={200: SlotOfferSerializer, **TAKEN_OR_ENDED, **RULE_VIOLATION})
    def post(self, request, pk):
        """Record the patient's yes: books the slot (moving their later treatment to it, if any)."""
        return _answer(request, pk, offers.slot_offer_accept)


class SlotOfferDecline(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = SlotOfferSerializer
    queryset = SlotOffer.objects.none()

    @extend_schema(request=None, responses={200: SlotOfferSerializer, **TAKEN_OR_ENDED})
    def post(self, request, pk):
        """Record the patient's no: the offer ends and the next patient in line is offered the slot."""
        return _answer(request, pk, offers.slot_offer_decline)

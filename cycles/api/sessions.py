"""Sessions: booking, the lifecycle and completion, as the front desk and clinicians see them.

Served from cycles/ because every answer carries course facts (the cycle number, and
to clinicians the review marker and the treatment) and a treatment is recorded here.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api.fields import DATE_SCHEMA, UUID_SCHEMA, DateField
from clinic.api.schema import CONFLICT, RULE_VIOLATION
from clinic.audit import audit_record
from clinic.errors import PermissionDenied, ValidationFailed
from clinic.models import AuditLog
from clinic.roles import IsClinician, IsStaff, is_clinician
from cycles import selectors, treatments
from cycles.api.serializers import (
    AdverseEventSerializer,
    CancelSerializer,
    ClinicalSessionSerializer,
    CompleteSerializer,
    LateAdverseEventSerializer,
    RescheduleSerializer,
    SessionCreateSerializer,
    SessionSerializer,
    TreatmentDetailSerializer,
)
from cycles.models import AdverseEvent, TreatmentRecord
from patients.models import Patient
from scheduling import services
from scheduling.models import Clinician, Location, Session

Action = AuditLog.Action


def _created(request, session: Session) -> Response:
    """A new booking as the caller may read it, from the rows the booking read (no query): a new session has
    no treatment nor adverse event yet; the policy set its review marker (`CoursePolicy.check`)."""
    if is_clinician(request.user):
        session._prefetched_objects_cache = {"adverse_events": AdverseEvent.objects.none()}
        return Response(ClinicalSessionSerializer(session).data, status=status.HTTP_201_CREATED)
    return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


def _row(model, pk, field: str):
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise ValidationFailed(f"No such {field}.", fields={field: [f"No {field} has this id."]})
    return row


def _out(request, session: Session, status_code=status.HTTP_200_OK) -> Response:
    fresh = selectors.session_list().get(pk=session.pk)
    serializer = ClinicalSessionSerializer if is_clinician(request.user) else SessionSerializer
    return Response(serializer(fresh).data, status=status_code)


class SessionList(GenericAPIView):
    queryset = Session.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = SessionSerializer

    @extend_schema(
        operation_id="sessions_list",
        responses=SessionSerializer(many=True),
        parameters=[
            OpenApiParameter("patient", UUID_SCHEMA),
            OpenApiParameter("clinician", UUID_SCHEMA),
            OpenApiParameter("location", UUID_SCHEMA),
            OpenApiParameter("from", DATE_SCHEMA, description="inclusive local date at each session's location"),
            OpenApiParameter("to", DATE_SCHEMA, description="inclusive local date at each session's location"),
            OpenApiParameter("status", str, enum=Session.Status.values),
            OpenApiParameter("kind", str, enum=Session.Kind.values),
        ],
    )
    def get(self, request):
        params = request.query_params
        query = _SessionFilter(data={k: v for k, v in params.items() if k in _SessionFilter.NAMES})
        if not query.is_valid():
            raise serializers.ValidationError(
                {{"from_date": "from", "to_date": "to"}.get(k, k): v for k, v in query.errors.items()}
            )
        page = self.paginate_queryset(selectors.session_list(**query.validated_data))
        audit_record(request=request, action=Action.READ, resource="session", patient_ids=[s.patient_id for s in page])
        return self.get_paginated_response(SessionSerializer(page, many=True).data)

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer, **CONFLICT, **RULE_VIOLATION})
    def post(self, request):
        data = SessionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["status"] == Session.Status.COMPLETED:
            if not is_clinician(request.user):
                raise PermissionDenied("Only a clinician may record a past treatment.")
            session = treatments.treatment_record_past(
                patient=_row(Patient, v["patient"], "patient"),
                clinician=_row(Clinician, v["clinician"], "clinician"),
                location=_row(Location, v["location"], "location"),
                start=v["start"],
                end=v.get("end"),
                treatment=v["treatment"],
                adverse_events=v["adverse_events"],
                notes=v["notes"],
                by=request.user,
            )
            audit_record(
                request=request, action=Action.CREATE, resource="session", obj=session, detail="past treatment recorded"
            )
            _audit_deviation(request, session)
            return _out(request, session, status.HTTP_201_CREATED)
        session = services.session_book(
            patient=v["patient"],
            clinician=v["clinician"],
            location=v["location"],
            start=v["start"],
            end=v.get("end"),
            kind=v["kind"],
            booked_by=request.user,
            override_reason=v["override_reason"],
        )
        audit_record(request=request, action=Action.CREATE, resource="session", obj=session)
        if session.override_reason:
            audit_record(
                request=request, action=Action.OVERRIDE, resource="session", obj=session, detail=session.override_reason
            )
        return _created(request, session)


class _SessionFilter(serializers.Serializer):
    NAMES = ("patient", "clinician", "location", "from", "to", "status", "kind")

    patient = serializers.UUIDField(required=False)
    clinician = serializers.UUIDField(required=False)
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), required=False)
    from_date = DateField(required=False)
    to_date = DateField(required=False)
    status = serializers.ChoiceField(choices=Session.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Session.Kind.choices, required=False)

    def to_internal_value(self, data):
        data = {{"from": "from_date", "to": "to_date"}.get(k, k): v for k, v in data.items()}
        return super().to_internal_value(data)


class SessionDetail(GenericAPIView):
    queryset = Session.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = SessionSerializer

    @extend_schema(responses={200: ClinicalSessionSerializer})
    def get(self, request, pk):
        session = get_object_or_404(selectors.session_list(), pk=pk)
        audit_record(request=request, action=Action.READ, resource="session", obj=session)
        serializer = ClinicalSessionSerializer if is_clinician(request.user) else SessionSerializer
        return Response(serializer(session).data)


class _SessionAction(GenericAPIView):
    queryset = Session.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsStaff]
    serializer_class = SessionSerializer
    input_serializer = None

    def get_session(self, pk) -> Session:
        return get_object_or_404(Session, pk=pk)

    def parse(self, request) -> dict:
        if self.input_serializer is None:
            return {}
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data

    def act(self, request, session: Session, data: dict) -> Session:
        raise NotImplementedError

    def post(self, request, pk):
        session = self.get_session(pk)
        data = self.parse(request)
        session = self.act(request, session, data)
        audit_record(
            request=request, action=Action.UPDATE, resource="session", obj=session, detail=self.__class__.__name__
        )
        return _out(request, session)


class SessionReschedule(_SessionAction):
    input_serializer = RescheduleSerializer

    @extend_schema(request=RescheduleSerializer, responses={200: SessionSerializer, **CONFLICT, **RULE_VIOLATION})
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, session, data):
        session = services.session_reschedule(
            session=session,
            start=data["start"],
            clinician=data.get("clinician"),
            by=request.user,
            override_reason=data["override_reason"],
        )
        if data["override_reason"].strip():
            audit_record(
                request=request, action=Action.OVERRIDE, resource="session", obj=session, detail=session.override_reason
            )
        return session


class SessionCancel(_SessionAction):
    input_serializer = CancelSerializer

    @extend_schema(request=CancelSerializer, responses={200: SessionSerializer, **CONFLICT})
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, session, data):
        return services.session_cancel(session=session, reason=data["reason"], by=request.user)


class SessionCheckIn(_SessionAction):
    @extend_schema(request=None, responses={200: SessionSerializer, **CONFLICT})
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, session, data):
        return services.session_check_in(session=session, by=request.user)


class SessionNoShow(_SessionAction):
    @extend_schema(request=None, responses={200: SessionSerializer, **CONFLICT})
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, session, data):
        return services.session_no_show(session=session, by=request.user)


class SessionComplete(_SessionAction):
    """Clinician only; the session must be checked in."""

    input_serializer = CompleteSerializer

    def parse(self, request) -> dict:
        if not is_clinician(request.user):
            raise PermissionDenied("Only a clinician may complete a session.")
        return super().parse(request)

    @extend_schema(request=CompleteSerializer, responses={200: ClinicalSessionSerializer, **CONFLICT, **RULE_VIOLATION})
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, session, data):
        session = treatments.session_complete(
            session=session,
            treatment=data.get("treatment"),
            adverse_events=data["adverse_events"],
            notes=data["notes"],
            by=request.user,
            override_reason=data["override_reason"],
        )
        if data["override_reason"].strip():
            audit_record(
                request=request, action=Action.OVERRIDE, resource="session", obj=session, detail=session.override_reason
            )
        _audit_deviation(request, session)
        return session


def _audit_deviation(request, session: Session) -> None:
    record = getattr(session, "treatment", None)
    if record is not None and record.deviation_reason:
        audit_record(
            request=request,
            action=Action.OVERRIDE,
            resource="treatment",
            obj=session,
            detail=f"PREEMPT deviation: {record.deviation_reason}",
        )


class SessionTreatment(GenericAPIView):
    """The treatment record of a completed session, with its claim lines (clinicians only)."""

    queryset = TreatmentRecord.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsClinician]
    serializer_class = TreatmentDetailSerializer

    def get(self, request, pk):
        record = get_object_or_404(
            TreatmentRecord.objects.select_related("session").prefetch_related("session__adverse_events"),
            session_id=pk,
        )
        audit_record(request=request, action=Action.READ, resource="treatment", obj=record.session)
        return Response(TreatmentDetailSerializer(record).data)


class SessionAdverseEvents(GenericAPIView):
    """An adverse event reported after the visit (clinicians only); urgent ones open a flag at once."""

    queryset = AdverseEvent.objects.none()  # for the OpenAPI schema only
    permission_classes = [IsClinician]
    serializer_class = LateAdverseEventSerializer

    @extend_schema(request=LateAdverseEventSerializer, responses={201: AdverseEventSerializer, **CONFLICT})
    def post(self, request, pk):
        session = get_object_or_404(Session, pk=pk)
        data = LateAdverseEventSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = treatments.adverse_event_report(session=session, event=data.validated_data, by=request.user)
        audit_record(request=request, action=Action.CREATE, resource="adverse_event", obj=event, object_id=event.pk)
        return Response(AdverseEventSerializer(event).data, status=status.HTTP_201_CREATED)

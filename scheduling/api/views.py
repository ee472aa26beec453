from datetime import timedelta

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api.schema import CONFLICT, RULE_VIOLATION
from clinic.audit import audit_record
from clinic.errors import PermissionDenied, ValidationFailed
from clinic.models import AuditLog
from clinic.roles import IsStaff, ReadStaffWriteAdmin, is_clinician
from clinic.timezones import today_in
from scheduling import selectors, services
from scheduling.api.serializers import (
    CancelSerializer,
    ClinicalSessionSerializer,
    ClinicianSerializer,
    CompleteSerializer,
    LocationSerializer,
    ProtocolSerializer,
    RescheduleSerializer,
    SessionCreateSerializer,
    SessionSerializer,
    SlotQuerySerializer,
    SlotSerializer,
    TimeOffSerializer,
    WorkingHoursSerializer,
)
from scheduling.models import Clinician, Location, Protocol, Session, TimeOff, WorkingHours

Action = AuditLog.Action


# --- clinic setup -------------------------------------------------------------------------


class LocationList(GenericAPIView):
    queryset = Location.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = LocationSerializer

    @extend_schema(operation_id="locations_list", responses=LocationSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(Location.objects.order_by("name"))
        return self.get_paginated_response(LocationSerializer(page, many=True).data)

    @extend_schema(responses={201: LocationSerializer})
    def post(self, request):
        data = LocationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = services.location_create(**data.validated_data)
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)


class LocationDetail(GenericAPIView):
    queryset = Location.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = LocationSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, pk):
        return Response(LocationSerializer(get_object_or_404(Location, pk=pk)).data)

    def patch(self, request, pk):
        location = get_object_or_404(Location, pk=pk)
        data = LocationSerializer(location, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(LocationSerializer(services.location_update(location=location, **data.validated_data)).data)


class ClinicianList(GenericAPIView):
    queryset = Clinician.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = ClinicianSerializer

    @extend_schema(operation_id="clinicians_list", responses=ClinicianSerializer(many=True))
    def get(self, request):
        clinicians = Clinician.objects.prefetch_related("locations").order_by("name", "id")
        page = self.paginate_queryset(clinicians)
        return self.get_paginated_response(ClinicianSerializer(page, many=True).data)

    @extend_schema(responses={201: ClinicianSerializer})
    def post(self, request):
        data = ClinicianSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clinician = services.clinician_create(**data.validated_data)
        return Response(ClinicianSerializer(clinician).data, status=status.HTTP_201_CREATED)


class ClinicianDetail(GenericAPIView):
    queryset = Clinician.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = ClinicianSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, pk):
        return Response(ClinicianSerializer(get_object_or_404(Clinician, pk=pk)).data)

    def patch(self, request, pk):
        clinician = get_object_or_404(Clinician, pk=pk)
        data = ClinicianSerializer(clinician, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        clinician = services.clinician_update(clinician=clinician, **data.validated_data)
        return Response(ClinicianSerializer(clinician).data)


class WorkingHoursList(GenericAPIView):
    """Hours in the location's local wall-clock time; they hold across DST changes."""

    queryset = WorkingHours.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = WorkingHoursSerializer

    @extend_schema(operation_id="clinicians_working_hours_list", responses=WorkingHoursSerializer(many=True))
    def get(self, request, pk):
        clinician = get_object_or_404(Clinician, pk=pk)
        page = self.paginate_queryset(clinician.working_hours.order_by("weekday", "start_time", "id"))
        return self.get_paginated_response(WorkingHoursSerializer(page, many=True).data)

    @extend_schema(responses={201: WorkingHoursSerializer})
    def post(self, request, pk):
        clinician = get_object_or_404(Clinician, pk=pk)
        data = WorkingHoursSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hours = services.working_hours_create(clinician=clinician, **data.validated_data)
        return Response(WorkingHoursSerializer(hours).data, status=status.HTTP_201_CREATED)


class TimeOffList(GenericAPIView):
    queryset = TimeOff.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = TimeOffSerializer

    @extend_schema(operation_id="clinicians_time_off_list", responses=TimeOffSerializer(many=True))
    def get(self, request, pk):
        clinician = get_object_or_404(Clinician, pk=pk)
        page = self.paginate_queryset(clinician.time_off.order_by("start", "id"))
        return self.get_paginated_response(TimeOffSerializer(page, many=True).data)

    @extend_schema(responses={201: TimeOffSerializer})
    def post(self, request, pk):
        clinician = get_object_or_404(Clinician, pk=pk)
        data = TimeOffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        time_off = services.time_off_create(clinician=clinician, **data.validated_data)
        return Response(TimeOffSerializer(time_off).data, status=status.HTTP_201_CREATED)


class WorkingHoursDetail(GenericAPIView):
    queryset = WorkingHours.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = WorkingHoursSerializer
    http_method_names = ["get", "delete", "head", "options"]

    def get(self, request, pk, hours_pk):
        return Response(WorkingHoursSerializer(get_object_or_404(WorkingHours, pk=hours_pk, clinician_id=pk)).data)

    def delete(self, request, pk, hours_pk):
        """Sessions already booked in these hours stay booked; the front desk moves them."""
        services.working_hours_delete(hours=get_object_or_404(WorkingHours, pk=hours_pk, clinician_id=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TimeOffDetail(GenericAPIView):
    queryset = TimeOff.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = TimeOffSerializer
    http_method_names = ["get", "delete", "head", "options"]

    def get(self, request, pk, time_off_pk):
        return Response(TimeOffSerializer(get_object_or_404(TimeOff, pk=time_off_pk, clinician_id=pk)).data)

    def delete(self, request, pk, time_off_pk):
        services.time_off_delete(time_off=get_object_or_404(TimeOff, pk=time_off_pk, clinician_id=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProtocolDetail(GenericAPIView):
    """The active protocol (DESIGN.md §2); only a clinic admin changes it."""

    queryset = Protocol.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = ProtocolSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request):
        return Response(ProtocolSerializer(Protocol.active()).data)

    def patch(self, request):
        protocol = Protocol.active()
        data = ProtocolSerializer(protocol, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(ProtocolSerializer(services.protocol_update(protocol=protocol, **data.validated_data)).data)


# --- slots and sessions --------------------------------------------------------------------


class SlotList(GenericAPIView):
    """Free slots of the protocol's session length; a plain array, not paginated."""

    permission_classes = [IsStaff]
    serializer_class = SlotSerializer
    pagination_class = None
    queryset = Session.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("location", str, description="a location's id (default: every location)"),
            OpenApiParameter("clinician", str),
            OpenApiParameter("from", str, description="local date of the location, YYYY-MM-DD (default today)"),
            OpenApiParameter("to", str, description="inclusive local date; to − from ≤ 31 days (default from + 6)"),
            OpenApiParameter("kind", str, enum=Session.Kind.values),
        ],
        responses={200: SlotSerializer(many=True)},
    )
    def get(self, request):
        params = request.query_params
        query = SlotQuerySerializer(
            data={
                key: value
                for key, value in {
                    "location": params.get("location"),
                    "clinician": params.get("clinician"),
                    "from_date": params.get("from"),
                    "to_date": params.get("to"),
                    "kind": params.get("kind"),
                }.items()
                if value not in (None, "")
            }
        )
        if not query.is_valid():
            renamed = {{"from_date": "from", "to_date": "to"}.get(k, k): v for k, v in query.errors.items()}
            raise serializers.ValidationError(renamed)
        location = query.validated_data.get("location")
        locations = [location] if location else list(Location.objects.all())
        if not locations:
            return Response([])
        # Without a location, "today" is the earliest one among the clinic's zones (past slots are left out).
        start_date = query.validated_data.get("from_date") or min(today_in(loc.zone) for loc in locations)
        end_date = query.validated_data.get("to_date") or start_date + timedelta(days=6)
        if end_date < start_date:
            raise ValidationFailed("`to` is before `from`.", fields={"to": ["Must not be before from."]})
        if (end_date - start_date).days > selectors.MAX_SLOT_RANGE_DAYS:
            raise ValidationFailed(
                f"At most {selectors.MAX_SLOT_RANGE_DAYS} days from `from` to `to`.",
                fields={"to": [f"At most {selectors.MAX_SLOT_RANGE_DAYS} days after from."]},
            )
        found = selectors.free_slots_at(
            locations=locations,
            clinician=query.validated_data.get("clinician"),
            start_date=start_date,
            end_date=end_date,
        )
        return Response(SlotSerializer(found, many=True).data)


def _audit(request, action: str, session: Session, detail: str = "") -> None:
    audit_record(
        request=request,
        action=action,
        resource="session",
        patient_ids=[session.patient_id],
        object_id=str(session.id),
        detail=detail,
    )


def _out(request, session: Session, status_code=status.HTTP_200_OK) -> Response:
    fresh = selectors.session_detail(pk=session.pk)
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
            OpenApiParameter("patient", str),
            OpenApiParameter("clinician", str),
            OpenApiParameter("location", str),
            OpenApiParameter("from", str, description="inclusive local date at each session's location"),
            OpenApiParameter("to", str, description="inclusive local date at each session's location"),
            OpenApiParameter("status", str, enum=Session.Status.values),
            OpenApiParameter("kind", str, enum=Session.Kind.values),
        ],
    )
    def get(self, request):
        params = request.query_params
        query = _SessionFilter(data={k: v for k, v in params.items() if v != "" and k in _SessionFilter.NAMES})
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
            session = services.treatment_record_past(
                patient=v["patient"],
                clinician=v["clinician"],
                location=v["location"],
                start=v["start"],
                end=v.get("end"),
                treatment=v["treatment"],
                adverse_events=v["adverse_events"],
                notes=v["notes"],
                by=request.user,
            )
            _audit(request, Action.CREATE, session, "past treatment recorded")
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
        _audit(request, Action.CREATE, session)
        if session.override_reason:
            _audit(request, Action.OVERRIDE, session, session.override_reason)
        return _out(request, session, status.HTTP_201_CREATED)


class _SessionFilter(serializers.Serializer):
    NAMES = ("patient", "clinician", "location", "from", "to", "status", "kind")

    patient = serializers.UUIDField(required=False)
    clinician = serializers.UUIDField(required=False)
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), required=False)
    from_date = serializers.DateField(required=False)
    to_date = serializers.DateField(required=False)
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
        _audit(request, Action.READ, session)
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
        _audit(request, Action.UPDATE, session, self.__class__.__name__)
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
            _audit(request, Action.OVERRIDE, session, session.override_reason)
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
        return services.session_complete(
            session=session,
            treatment=data.get("treatment"),
            adverse_events=data["adverse_events"],
            notes=data["notes"],
            by=request.user,
        )

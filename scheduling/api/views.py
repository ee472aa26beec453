"""Clinic set-up (clinic_admin writes, every staff role reads) and the free-slot search."""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api.fields import DATE_SCHEMA, UUID_SCHEMA
from clinic.errors import ValidationFailed
from clinic.roles import IsStaff, ReadStaffWriteAdmin
from clinic.timezones import today_in
from scheduling import selectors, services
from scheduling.api.serializers import (
    ClinicianSerializer,
    LocationSerializer,
    SlotQuerySerializer,
    SlotSerializer,
    TimeOffSerializer,
    WorkingHoursSerializer,
)
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours

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


# --- slots ---------------------------------------------------------------------------------


class SlotList(GenericAPIView):
    """Free slots of the protocol's session length; a plain array, not paginated."""

    permission_classes = [IsStaff]
    serializer_class = SlotSerializer
    pagination_class = None
    queryset = Session.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("location", UUID_SCHEMA, description="a location's id (default: every location)"),
            OpenApiParameter("clinician", UUID_SCHEMA),
            OpenApiParameter("from", DATE_SCHEMA, description="local date of the location, YYYY-MM-DD (default today)"),
            OpenApiParameter(
                "to", DATE_SCHEMA, description="inclusive local date; to − from ≤ 31 days (default from + 6)"
            ),
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
                if value is not None
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

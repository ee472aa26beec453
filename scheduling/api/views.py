"""Clinic set-up (clinic_admin writes, every staff role reads) and the free-slot search."""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
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


class SetupList(GenericAPIView):
    # GET a page of rows, POST one through the service `create`; subclasses name the rows and the service.
    # Rows under a clinician (`clinicians/{pk}/…`) get that clinician as `owner`.

    permission_classes = [ReadStaffWriteAdmin]
    owned = False  # rows under /clinicians/{pk}/

    def rows(self, owner):
        raise NotImplementedError

    def create(self, owner, **fields):
        raise NotImplementedError

    def _owner(self, pk):
        return get_object_or_404(Clinician, pk=pk) if self.owned else None

    def get(self, request, pk=None):
        page = self.paginate_queryset(self.rows(self._owner(pk)))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def post(self, request, pk=None):
        owner = self._owner(pk)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = self.create(owner, **data.validated_data)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)


class SetupDetail(GenericAPIView):
    # GET one row; PATCH it through the service `update`, or DELETE it through `remove`.

    permission_classes = [ReadStaffWriteAdmin]
    lookup_url_kwarg = "pk"

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs[self.lookup_url_kwarg], **self.parent())

    def parent(self) -> dict:
        return {}

    def get(self, request, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request, **kwargs):
        row = self.get_object()
        data = self.get_serializer(row, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(self.get_serializer(self.update(row, **data.validated_data)).data)

    def delete(self, request, **kwargs):
        self.remove(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def update(self, row, **fields):
        raise NotImplementedError

    def remove(self, row) -> None:
        raise NotImplementedError


def _list_schema(operation_id: str, serializer):
    return extend_schema_view(
        get=extend_schema(operation_id=operation_id, responses=serializer(many=True)),
        post=extend_schema(responses={201: serializer}),
    )


@_list_schema("locations_list", LocationSerializer)
class LocationList(SetupList):
    queryset = Location.objects.none()  # for the OpenAPI schema only
    serializer_class = LocationSerializer

    def rows(self, owner):
        return Location.objects.order_by("name")

    def create(self, owner, **fields):
        return services.location_create(**fields)


class LocationDetail(SetupDetail):
    queryset = Location.objects.all()
    serializer_class = LocationSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def update(self, row, **fields):
        return services.location_update(location=row, **fields)


@_list_schema("clinicians_list", ClinicianSerializer)
class ClinicianList(SetupList):
    queryset = Clinician.objects.none()  # for the OpenAPI schema only
    serializer_class = ClinicianSerializer

    def rows(self, owner):
        return Clinician.objects.prefetch_related("locations").order_by("name", "id")

    def create(self, owner, **fields):
        return services.clinician_create(**fields)


class ClinicianDetail(SetupDetail):
    queryset = Clinician.objects.all()
    serializer_class = ClinicianSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def update(self, row, **fields):
        return services.clinician_update(clinician=row, **fields)


@_list_schema("clinicians_working_hours_list", WorkingHoursSerializer)
class WorkingHoursList(SetupList):
    """Hours in the location's local wall-clock time; they hold across DST changes."""

    queryset = WorkingHours.objects.none()  # for the OpenAPI schema only
    serializer_class = WorkingHoursSerializer
    owned = True

    def rows(self, owner):
        return owner.working_hours.order_by("weekday", "start_time", "id")

    def create(self, owner, **fields):
        return services.working_hours_create(clinician=owner, **fields)


@_list_schema("clinicians_time_off_list", TimeOffSerializer)
class TimeOffList(SetupList):
    queryset = TimeOff.objects.none()  # for the OpenAPI schema only
    serializer_class = TimeOffSerializer
    owned = True

    def rows(self, owner):
        return owner.time_off.order_by("start", "id")

    def create(self, owner, **fields):
        return services.time_off_create(clinician=owner, **fields)


@extend_schema_view(
    delete=extend_schema(description="Sessions already booked in these hours stay booked; the front desk moves them.")
)
class WorkingHoursDetail(SetupDetail):
    queryset = WorkingHours.objects.all()
    serializer_class = WorkingHoursSerializer
    http_method_names = ["get", "delete", "head", "options"]
    lookup_url_kwarg = "hours_pk"

    def parent(self) -> dict:
        return {"clinician_id": self.kwargs["pk"]}

    def remove(self, row) -> None:
        services.working_hours_delete(hours=row)


class TimeOffDetail(SetupDetail):
    queryset = TimeOff.objects.all()
    serializer_class = TimeOffSerializer
    http_method_names = ["get", "delete", "head", "options"]
    lookup_url_kwarg = "time_off_pk"

    def parent(self) -> dict:
        return {"clinician_id": self.kwargs["pk"]}

    def remove(self, row) -> None:
        services.time_off_delete(time_off=row)


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

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api.fields import SEARCH_SCHEMA, SearchField
from clinic.api.schema import AUTH_ERRORS, NOT_FOUND, VALIDATION_ERROR
from clinic.audit import audit_record
from clinic.models import AuditLog
from clinic.roles import IsClinician, IsStaff
from patients import selectors, services
from patients.api.serializers import (
    DiaryEntrySerializer,
    PatientSerializer,
    PreventiveSerializer,
)
from patients.models import DiaryEntry, Patient, PriorPreventive

Action = AuditLog.Action


class PatientQuery(serializers.Serializer):
    search = SearchField()


class PatientList(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = PatientSerializer
    queryset = Patient.objects.none()  # for the schema only; reads go through selectors

    @extend_schema(
        parameters=[OpenApiParameter("search", SEARCH_SCHEMA, description="name, MRN, phone or email")],
        responses={200: PatientSerializer(many=True), **AUTH_ERRORS},
    )
    def get(self, request):
        query = PatientQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.patient_search(query=query.validated_data.get("search", "")))
        audit_record(request=request, action=Action.READ, resource="patient", patient_ids=[p.id for p in page])
        return self.get_paginated_response(PatientSerializer(page, many=True).data)

    @extend_schema(responses={201: PatientSerializer, **VALIDATION_ERROR, **AUTH_ERRORS})
    def post(self, request):
        data = PatientSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = data.validated_data.pop("consent_note", "")
        patient = services.patient_create(by=request.user, consent_note=note, **data.validated_data)
        audit_record(request=request, action=Action.CREATE, resource="patient", patient_ids=[patient.id])
        _audit_consent(request, patient, note)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)


def _audit_consent(request, patient: Patient, note: str) -> None:
    if note.strip():
        audit_record(
            request=request, action=Action.OVERRIDE, resource="sms_consent", patient_ids=[patient.id], detail=note
        )


class PatientScoped(GenericAPIView):
    """Views under /patients/{id}/: the patient is looked up once, and every request is audited."""

    resource = "patient"

    def get_patient(self, pk) -> Patient:
        return get_object_or_404(Patient, pk=pk)

    def audit(self, action: str, patient: Patient, object_id="") -> None:
        audit_record(
            request=self.request, action=action, resource=self.resource, patient_ids=[patient.id], object_id=object_id
        )


class PatientDetail(PatientScoped):
    permission_classes = [IsStaff]
    serializer_class = PatientSerializer
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(responses={200: PatientSerializer, **AUTH_ERRORS, **NOT_FOUND})
    def get(self, request, pk):
        patient = self.get_patient(pk)
        self.audit(Action.READ, patient)
        return Response(PatientSerializer(patient).data)

    @extend_schema(responses={200: PatientSerializer, **VALIDATION_ERROR, **AUTH_ERRORS, **NOT_FOUND})
    def patch(self, request, pk):
        patient = self.get_patient(pk)
        data = PatientSerializer(patient, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        note = data.validated_data.pop("consent_note", "")
        patient = services.patient_update(patient=patient, by=request.user, consent_note=note, **data.validated_data)
        self.audit(Action.UPDATE, patient)
        _audit_consent(request, patient, note)
        return Response(PatientSerializer(patient).data)


class PreventiveList(PatientScoped):
    permission_classes = [IsClinician]
    serializer_class = PreventiveSerializer
    queryset = PriorPreventive.objects.none()  # for the schema only
    resource = "preventive"

    @extend_schema(responses={200: PreventiveSerializer(many=True), **AUTH_ERRORS, **NOT_FOUND})
    def get(self, request, pk):
        patient = self.get_patient(pk)
        page = self.paginate_queryset(patient.preventives.order_by("started_on", "created_at"))
        self.audit(Action.READ, patient)
        return self.get_paginated_response(PreventiveSerializer(page, many=True).data)

    @extend_schema(responses={201: PreventiveSerializer, **VALIDATION_ERROR, **AUTH_ERRORS, **NOT_FOUND})
    def post(self, request, pk):
        patient = self.get_patient(pk)
        data = PreventiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preventive = services.preventive_create(patient=patient, **data.validated_data)
        self.audit(Action.CREATE, patient, preventive.id)
        return Response(PreventiveSerializer(preventive).data, status=status.HTTP_201_CREATED)


class DiaryList(PatientScoped):
    permission_classes = [IsClinician]
    serializer_class = DiaryEntrySerializer
    queryset = DiaryEntry.objects.none()  # for the schema only
    resource = "diary"

    @extend_schema(responses={200: DiaryEntrySerializer(many=True), **AUTH_ERRORS, **NOT_FOUND})
    def get(self, request, pk):
        patient = self.get_patient(pk)
        page = self.paginate_queryset(selectors.diary_for_patient(patient=patient))
        self.audit(Action.READ, patient)
        return self.get_paginated_response(DiaryEntrySerializer(page, many=True).data)

    @extend_schema(responses={201: DiaryEntrySerializer, **VALIDATION_ERROR, **AUTH_ERRORS, **NOT_FOUND})
    def post(self, request, pk):
        patient = self.get_patient(pk)
        data = DiaryEntrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.diary_entry_create(patient=patient, recorded_by=request.user, **data.validated_data)
        self.audit(Action.CREATE, patient, entry.id)
        return Response(DiaryEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

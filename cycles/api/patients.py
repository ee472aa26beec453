"""Clinical reads of one patient that depend on the course: response, eligibility, the FHIR export."""

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from clinic.api.schema import AUTH_ERRORS, NOT_FOUND
from clinic.models import AuditLog
from clinic.roles import IsClinician
from cycles import selectors
from cycles.api.serializers import EligibilitySerializer, ResponseSerializer
from patients import fhir
from patients import selectors as patient_selectors
from patients.api.views import PatientScoped

Action = AuditLog.Action


class ResponseQuery(serializers.Serializer):
    course = serializers.UUIDField(required=False)


class PatientResponse(PatientScoped):
    permission_classes = [IsClinician]
    serializer_class = ResponseSerializer
    resource = "response"

    @extend_schema(
        parameters=[OpenApiParameter("course", OpenApiTypes.UUID, description="a course of the patient (latest)")],
        responses={200: ResponseSerializer, **AUTH_ERRORS, **NOT_FOUND},
    )
    def get(self, request, pk):
        patient = self.get_patient(pk)
        query = ResponseQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        course = selectors.course_for_patient(patient=patient, course_id=query.validated_data.get("course"))
        if query.validated_data.get("course") and course is None:
            raise NotFound("The patient has no such course.")
        history = selectors.response_for_patient(patient=patient, course=course)
        self.audit(Action.READ, patient)
        return Response({**ResponseSerializer(history).data, "course": str(course.pk) if course else None})


class PatientEligibility(PatientScoped):
    permission_classes = [IsClinician]
    serializer_class = EligibilitySerializer
    resource = "eligibility"

    @extend_schema(responses={200: EligibilitySerializer, **AUTH_ERRORS, **NOT_FOUND})
    def get(self, request, pk):
        patient = self.get_patient(pk)
        result = selectors.eligibility_for_patient(patient=patient)
        self.audit(Action.READ, patient)
        return Response(EligibilitySerializer(result).data)


class FhirJsonRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class PatientFhirExport(PatientScoped):
    """FHIR R4 Bundle (collection) of the patient's record, for integrators."""

    permission_classes = [IsClinician]
    # A FHIR client asks for application/fhir+json; errors stay in the API's JSON shape.
    renderer_classes = [JSONRenderer, FhirJsonRenderer]
    resource = "fhir"

    @extend_schema(
        responses={
            (200, "application/fhir+json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="FHIR R4 Bundle of type collection"
            ),
            **AUTH_ERRORS,
            **NOT_FOUND,
        }
    )
    def get(self, request, pk):
        patient = self.get_patient(pk)
        bundle = fhir.patient_bundle(
            patient=patient,
            sessions=selectors.sessions_for_export(patient=patient),
            diary_entries=patient_selectors.diary_for_patient(patient=patient),
            site_url=settings.SITE_URL,
            generated_at=timezone.now(),
        )
        self.audit(Action.EXPORT, patient)
        return HttpResponse(bundle.model_dump_json(), content_type=FhirJsonRenderer.media_type)

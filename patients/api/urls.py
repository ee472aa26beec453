from django.urls import path

from patients.api import views

urlpatterns = [
    path("patients/", views.PatientList.as_view(), name="patient-list"),
    path("patients/<uuid:pk>/", views.PatientDetail.as_view(), name="patient-detail"),
    path("patients/<uuid:pk>/preventives/", views.PreventiveList.as_view(), name="patient-preventives"),
    path("patients/<uuid:pk>/diary/", views.DiaryList.as_view(), name="patient-diary"),
    path("patients/<uuid:pk>/response/", views.PatientResponse.as_view(), name="patient-response"),
    path("patients/<uuid:pk>/eligibility/", views.PatientEligibility.as_view(), name="patient-eligibility"),
    path("patients/<uuid:pk>/fhir/", views.PatientFhirExport.as_view(), name="patient-fhir"),
]

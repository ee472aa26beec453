from django.urls import path

from patients.api import views

urlpatterns = [
    path("patients/", views.PatientList.as_view(), name="patient-list"),
    path("patients/<uuid:pk>/", views.PatientDetail.as_view(), name="patient-detail"),
    path("patients/<uuid:pk>/preventives/", views.PreventiveList.as_view(), name="patient-preventives"),
    path("patients/<uuid:pk>/diary/", views.DiaryList.as_view(), name="patient-diary"),
]

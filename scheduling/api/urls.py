from django.urls import path

from scheduling.api import views

urlpatterns = [
    path("locations/", views.LocationList.as_view(), name="location-list"),
    path("locations/<uuid:pk>/", views.LocationDetail.as_view(), name="location-detail"),
    path("clinicians/", views.ClinicianList.as_view(), name="clinician-list"),
    path("clinicians/<uuid:pk>/", views.ClinicianDetail.as_view(), name="clinician-detail"),
    path("clinicians/<uuid:pk>/working-hours/", views.WorkingHoursList.as_view(), name="clinician-working-hours"),
    path(
        "clinicians/<uuid:pk>/working-hours/<uuid:hours_pk>/",
        views.WorkingHoursDetail.as_view(),
        name="clinician-working-hours-detail",
    ),
    path("clinicians/<uuid:pk>/time-off/", views.TimeOffList.as_view(), name="clinician-time-off"),
    path(
        "clinicians/<uuid:pk>/time-off/<uuid:time_off_pk>/",
        views.TimeOffDetail.as_view(),
        name="clinician-time-off-detail",
    ),
    path("slots/", views.SlotList.as_view(), name="slot-list"),
]

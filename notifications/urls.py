from django.urls import path

from notifications import views

urlpatterns = [
    path("diary/<str:token>/", views.diary_link, name="patient-diary-link"),
    path("<str:token>/", views.session_link, name="patient-link"),
]

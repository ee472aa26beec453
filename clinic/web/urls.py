from django.contrib.auth import views as auth_views
from django.urls import path

from clinic.web import audit, login, views

app_name = "web"

urlpatterns = [
    path("login/", login.login_view, name="login"),
    path("login/code/", login.code_view, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("day/", views.day_view, name="day"),
    path("patients/", views.patient_search, name="patient_search"),
    path("patients/<uuid:pk>/", views.patient_detail, name="patient"),
    path("patients/<uuid:pk>/book/", views.book, name="book"),
    path("patients/<uuid:pk>/response/", views.patient_response, name="response"),
    path("sessions/<uuid:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("sessions/<uuid:pk>/complete/", views.complete, name="complete"),
    path("sessions/<uuid:pk>/<str:action>/", views.session_action, name="session_action"),
    path("due/", views.due, name="due"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<uuid:pk>/resolve/", views.resolve_flag, name="resolve_flag"),
    path("audit/", audit.audit_log, name="audit"),
]

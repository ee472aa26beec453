from django.contrib.auth import views as auth_views
from django.urls import path

from clinic.web import authorizations, views

app_name = "web"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
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
    # Prior authorisation (clinic/web/authorizations.py)
    path("courses/<uuid:pk>/authorizations/", authorizations.course_authorizations, name="course_authorizations"),
    path("courses/<uuid:pk>/reauthorization.pdf", authorizations.reauthorization_pdf, name="reauthorization_pdf"),
    path("courses/<uuid:pk>/letter.pdf", authorizations.letter_pdf, name="letter_pdf"),
    path("authorizations/renewals/", authorizations.renewals, name="renewals"),
    path("authorizations/<uuid:pk>/edit/", authorizations.authorization_edit, name="authorization_edit"),
    path("authorizations/<uuid:pk>/status/", authorizations.authorization_status, name="authorization_status"),
]

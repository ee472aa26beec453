from django.contrib.auth import views as auth_views
from django.urls import path

from clinic.web import audit, authorizations, login
from clinic.web.views import booking, calendar, clinical, home, patients, sessions

app_name = "web"

urlpatterns = [
    path("login/", login.login_view, name="login"),
    path("login/code/", login.code_view, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("day/", calendar.day_view, name="day"),
    path("week/", calendar.week_view, name="week"),
    path("calendar/changes/", calendar.calendar_changes, name="calendar_changes"),
    path("calendar/book/", calendar.slot_book, name="slot_book"),
    path("patients/", patients.patient_search, name="patient_search"),
    path("patients/new/", patients.patient_create, name="patient_create"),
    path("patients/<uuid:pk>/", patients.patient_detail, name="patient"),
    path("patients/<uuid:pk>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<uuid:pk>/book/", booking.book, name="book"),
    path("patients/<uuid:pk>/response/", clinical.patient_response, name="response"),
    path("patients/<uuid:pk>/treatments/", clinical.treatment_history, name="treatments"),
    path("sessions/<uuid:pk>/reschedule/", booking.reschedule, name="reschedule"),
    path("sessions/<uuid:pk>/complete/", clinical.complete, name="complete"),
    path("sessions/<uuid:pk>/adverse-event/", clinical.late_adverse_event, name="late_adverse_event"),
    path("sessions/<uuid:pk>/cancel/", sessions.session_cancel, name="session_cancel"),
    path("sessions/<uuid:pk>/undo-cancel/", sessions.session_cancel_undo, name="session_cancel_undo"),
    path("sessions/<uuid:pk>/<str:action>/", sessions.session_action, name="session_action"),
    path("due/", home.due, name="due"),
    path("review/", clinical.review_queue, name="review_queue"),
    path("review/<uuid:pk>/resolve/", clinical.resolve_flag, name="resolve_flag"),
    # Prior authorisation (clinic/web/authorizations.py)
    path("courses/<uuid:pk>/authorizations/", authorizations.course_authorizations, name="course_authorizations"),
    path("courses/<uuid:pk>/reauthorization.pdf", authorizations.reauthorization_pdf, name="reauthorization_pdf"),
    path("courses/<uuid:pk>/letter.pdf", authorizations.letter_pdf, name="letter_pdf"),
    path("authorizations/renewals/", authorizations.renewals, name="renewals"),
    path("authorizations/<uuid:pk>/edit/", authorizations.authorization_edit, name="authorization_edit"),
    path("authorizations/<uuid:pk>/status/", authorizations.authorization_status, name="authorization_status"),
    path("audit/", audit.audit_log, name="audit"),
]

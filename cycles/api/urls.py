from django.urls import path

from cycles.api import authorizations, due, flags, offers, patients, protocol, sessions

urlpatterns = [
    path("protocol/", protocol.ProtocolDetail.as_view(), name="protocol"),
    path("protocols/", protocol.ProtocolList.as_view(), name="protocol-list"),
    path("protocols/<uuid:pk>/", protocol.ProtocolDetail.as_view(), name="protocol-detail"),
    path("courses/", protocol.CourseList.as_view(), name="course-list"),
    path("courses/<uuid:pk>/", protocol.CourseDetail.as_view(), name="course-detail"),
    path(
        "courses/<uuid:pk>/authorizations/",
        authorizations.CourseAuthorizations.as_view(),
        name="course-authorization-list",
    ),
    path(
        "courses/<uuid:pk>/reauthorization/",
        authorizations.CourseReauthorization.as_view(),
        name="course-reauthorization",
    ),
    path("courses/<uuid:pk>/letter/", authorizations.CourseLetter.as_view(), name="course-letter"),
    path("authorizations/", authorizations.AuthorizationList.as_view(), name="authorization-list"),
    path("authorizations/<uuid:pk>/", authorizations.AuthorizationDetail.as_view(), name="authorization-detail"),
    path("sessions/", sessions.SessionList.as_view(), name="session-list"),
    path("sessions/<uuid:pk>/", sessions.SessionDetail.as_view(), name="session-detail"),
    path("sessions/<uuid:pk>/reschedule/", sessions.SessionReschedule.as_view(), name="session-reschedule"),
    path("sessions/<uuid:pk>/cancel/", sessions.SessionCancel.as_view(), name="session-cancel"),
    path("sessions/<uuid:pk>/check-in/", sessions.SessionCheckIn.as_view(), name="session-check-in"),
    path("sessions/<uuid:pk>/no-show/", sessions.SessionNoShow.as_view(), name="session-no-show"),
    path("sessions/<uuid:pk>/complete/", sessions.SessionComplete.as_view(), name="session-complete"),
    path("sessions/<uuid:pk>/treatment/", sessions.SessionTreatment.as_view(), name="session-treatment"),
    path("sessions/<uuid:pk>/adverse-events/", sessions.SessionAdverseEvents.as_view(), name="session-adverse-events"),
    path("patients/<uuid:pk>/response/", patients.PatientResponse.as_view(), name="patient-response"),
    path("patients/<uuid:pk>/eligibility/", patients.PatientEligibility.as_view(), name="patient-eligibility"),
    path("patients/<uuid:pk>/fhir/", patients.PatientFhirExport.as_view(), name="patient-fhir"),
    path("due/", due.DueList.as_view(), name="due-list"),
    path("slot-offers/", offers.SlotOfferList.as_view(), name="slot-offer-list"),
    path("slot-offers/<uuid:pk>/accept/", offers.SlotOfferAccept.as_view(), name="slot-offer-accept"),
    path("slot-offers/<uuid:pk>/decline/", offers.SlotOfferDecline.as_view(), name="slot-offer-decline"),
    path("review-flags/", flags.ReviewFlagList.as_view(), name="review-flag-list"),
    path("review-flags/<uuid:pk>/resolve/", flags.ReviewFlagResolve.as_view(), name="review-flag-resolve"),
]

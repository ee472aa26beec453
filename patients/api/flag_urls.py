from django.urls import path

from patients.api.flags import ReviewFlagList, ReviewFlagResolve

urlpatterns = [
    path("review-flags/", ReviewFlagList.as_view(), name="review-flag-list"),
    path("review-flags/<uuid:pk>/resolve/", ReviewFlagResolve.as_view(), name="review-flag-resolve"),
]

from django.urls import path

from clinic.api.auth import ObtainToken

urlpatterns = [
    path("auth/token/", ObtainToken.as_view(), name="auth-token"),
]

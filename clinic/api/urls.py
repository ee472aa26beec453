from django.urls import path

from clinic.api import auth

urlpatterns = [
    path("auth/token/", auth.ObtainToken.as_view(), name="auth-token"),
    path("auth/logout/", auth.Logout.as_view(), name="auth-logout"),
    path("auth/totp/", auth.TotpEnrol.as_view(), name="auth-totp"),
    path("auth/totp/confirm/", auth.TotpConfirm.as_view(), name="auth-totp-confirm"),
]

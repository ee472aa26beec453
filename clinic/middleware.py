"""Request-wide rules: no caching of anything but static files, and no session without its second factor."""

from django.contrib.auth import logout
from django.utils.cache import add_never_cache_headers

from clinic.roles import second_factor_required


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every page and API answer (API.md, Security).

    Static files never reach it (WhiteNoise answers them above), so they keep their long
    cache; everything else may show a patient, and no browser or proxy may keep a copy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class SecondFactorMiddleware:
    """A session of a role in MFA_REQUIRED_ROLES that was not verified with TOTP is ended.

    The login page (clinic/web/login.py) only opens such a session after the second step;
    this holds for any other way a session could come about (an old session from before
    the setting, a future login path), so no page or API call is served on a password alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and second_factor_required(user) and not user.is_verified():
            logout(request)
        return self.get_response(request)

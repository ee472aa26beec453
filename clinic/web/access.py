"""Who may open which page: the API's roles (clinic/roles.py), applied to views."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from clinic.roles import ALL_ROLES, CLINICIAN, has_role


def role_required(*roles: str):
    """Anonymous → the login page; a staff user without the role → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(*ALL_ROLES)
# Clinical pages: diary, response, treatment records, adverse events and flags.
clinician_required = role_required(CLINICIAN)

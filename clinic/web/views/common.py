"""What every web view shares: the audit action names, the way back, the remembered location."""

from django.core import signing
from django.utils.http import url_has_allowed_host_and_scheme

from clinic.models import AuditLog
from scheduling import services

Action = AuditLog.Action
LOCATION_COOKIE = "cd_location"
LOCATION_COOKIE_AGE = 365 * 24 * 3600
_SALT = "clinic.web.location"


def back(request, default: str) -> str:
    """Where the user came from (`next`, a path on this site), else `default`."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def chosen_location(request, locations: list, default=None):
    """The location asked for, else the one this user last looked at (a signed cookie per user), else
    `default` or the first."""
    wanted = request.GET.get("location") or request.POST.get("location")
    if not wanted:
        try:
            user_id, _, wanted = request.get_signed_cookie(LOCATION_COOKIE, salt=_SALT).partition(":")
        except (KeyError, signing.BadSignature):
            user_id, wanted = "", ""
        if user_id != str(request.user.pk):
            wanted = ""
    found = next((loc for loc in locations if str(loc.id) == wanted), None)
    return found or default or (locations[0] if locations else None)


def remember_location(response, request, location) -> None:
    if location is not None:
        response.set_signed_cookie(
            LOCATION_COOKIE,
            f"{request.user.pk}:{location.id}",
            salt=_SALT,
            max_age=LOCATION_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
        )


def session_actions(session, now) -> dict:
    """The buttons a session offers: only those that can succeed now (the lifecycle's own rule)."""
    return {
        action: services.action_problem(session, action, now) is None
        for action in ("check_in", "no_show", "cancel", "reschedule", "complete")
    }

"""Staff roles are Django groups; these are the only names the code uses."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from rest_framework.permissions import SAFE_METHODS, BasePermission

FRONT_DESK = "front_desk"
CLINICIAN = "clinician"
CLINIC_ADMIN = "clinic_admin"
ALL_ROLES = (FRONT_DESK, CLINICIAN, CLINIC_ADMIN)


def roles_of(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The user's roles, read once per request object and cached on it."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_cycledesk_roles", None)
    if cached is None:
        cached = frozenset(ALL_ROLES) if user.is_superuser else frozenset(user.groups.values_list("name", flat=True))
        user._cycledesk_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_clinician(user) -> bool:
    return has_role(user, CLINICIAN)


def ensure_groups() -> None:
    """Create the role groups; clinic admins manage setup, users and roles in Django admin."""
    from django.contrib.auth.models import Permission

    for name in ALL_ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        if name == CLINIC_ADMIN:
            group.permissions.set(
                Permission.objects.filter(content_type__app_label__in=["scheduling", "cycles", "notifications", "auth"])
            )


class _RolePermission(BasePermission):
    roles: tuple[str, ...] = ()
    message = "Your role may not do this."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, *self.roles)


class IsStaff(_RolePermission):
    """Front desk, clinicians and admins: demographics, contact, sessions."""

    roles = ALL_ROLES


class IsClinician(_RolePermission):
    """Clinical data: diary, response, eligibility, treatments, flags."""

    roles = (CLINICIAN,)


class IsClinicAdmin(_RolePermission):
    roles = (CLINIC_ADMIN,)


class ReadStaffWriteAdmin(BasePermission):
    """Clinic setup: every staff role reads, only clinic_admin writes."""

    message = "Only a clinic admin may change clinic setup."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return has_role(request.user, *ALL_ROLES)
        return has_role(request.user, CLINIC_ADMIN)

"""Staff roles are Django groups; these are the only names the code uses."""

from django.conf import settings
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


def second_factor_required(user) -> bool:
    """Whether the user's roles must sign in with TOTP too (MFA_REQUIRED_ROLES; none on the embedded default)."""
    required = settings.MFA_REQUIRED_ROLES
    return bool(required) and has_role(user, *required)


# What a clinic admin may do in the Django admin: clinic set-up and staff accounts, nothing
# else. No permission on groups or permissions, and the staff form (clinic/admin.py) offers
# the three roles only, never superuser status, so a clinic admin cannot raise anyone's
# rights, their own included. Patient data and clinical records are not set-up.
CLINIC_ADMIN_PERMISSIONS = {
    "auth": {"user": ("add", "change", "view")},
    "scheduling": {
        "location": ("add", "change", "view"),
        "clinician": ("add", "change", "view"),
        "workinghours": ("add", "change", "delete", "view"),
        "timeoff": ("add", "change", "delete", "view"),
    },
    "cycles": {"protocol": ("add", "change", "view")},
    "notifications": {"reminderpolicy": ("change", "view")},
}


def ensure_groups() -> None:
    """Create the role groups and give clinic admins exactly CLINIC_ADMIN_PERMISSIONS (run again: resets them)."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    wanted = Q(pk__in=[])
    for app_label, models in CLINIC_ADMIN_PERMISSIONS.items():
        for model, actions in models.items():
            wanted |= Q(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
    for name in ALL_ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(wanted) if name == CLINIC_ADMIN else [])


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

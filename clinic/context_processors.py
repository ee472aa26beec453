from django.conf import settings

from clinic.roles import roles_of


def clinic(request):
    roles = roles_of(getattr(request, "user", None))
    return {"clinic_name": settings.CLINIC_NAME, "user_roles": roles}

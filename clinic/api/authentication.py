"""DRF's token, with an expiry: API_TOKEN_TTL_HOURS (12) after issue it answers 401 and is deleted.

Its own module: DRF imports the authentication classes while `rest_framework.views` is still loading.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from clinic.roles import ALL_ROLES


def token_expires_at(token: Token):
    return token.created + timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def token_expired(token: Token) -> bool:
    return timezone.now() >= token_expires_at(token)


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        # One query: the token, its user and the user's roles (clinic.roles reads them off the user).
        roles = {role: Exists(Group.objects.filter(user=OuterRef("user_id"), name=role)) for role in ALL_ROLES}
        token = (
            Token.objects.select_related("user")
            .annotate(**{f"has_{role}": exists for role, exists in roles.items()})
            .filter(key=key)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        user = token.user
        if not user.is_superuser:
            user._cycledesk_roles = frozenset(role for role in ALL_ROLES if getattr(token, f"has_{role}"))
        if token_expired(token):
            Token.objects.filter(pk=token.pk).delete()
            raise exceptions.AuthenticationFailed("Token expired: get a new one from /api/v1/auth/token/.")
        return user, token

"""DRF's token, with an expiry: API_TOKEN_TTL_HOURS (12) after issue it answers 401 and is deleted.

Its own module: DRF imports the authentication classes while `rest_framework.views` is still loading.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_expires_at(token: Token):
    return token.created + timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def token_expired(token: Token) -> bool:
    return timezone.now() >= token_expires_at(token)


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            Token.objects.filter(pk=token.pk).delete()
            raise exceptions.AuthenticationFailed("Token expired: get a new one from /api/v1/auth/token/.")
        return user, token

"""DRF authentication by `Authorization: Bearer <token>` against hashed service tokens."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ServiceToken, hash_token
from .token_cache import token_by_hash

# last_used_at is written at most this often per token, so the hot path stays one SELECT.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ServicePrincipal:
    """The `request.user` of a token request: authenticated, no Django user behind it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, token: ServiceToken):
        self.token = token

    def __str__(self) -> str:
        return self.token.name

    def has_perm(self, perm, obj=None) -> bool:
        return False


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    """Bearer service tokens; revoked or unknown tokens are refused with 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as `Authorization: Bearer <token>`.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        token = token_by_hash(hash_token(raw))
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ServiceToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return ServicePrincipal(token), token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'

"""Writes of service tokens: create (the plain token is returned once) and revoke."""

import secrets

from django.utils import timezone

from .models import TOKEN_PREFIX, ServiceToken, hash_token


def service_token_create(*, name: str, scopes: list[str], throttle_rate: str = "") -> tuple[ServiceToken, str]:
    """Create a token and return it with its plain text (shown once, never stored)."""
    scopes = sorted(set(scopes))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    obj = ServiceToken(name=name, prefix=token[:12], token_hash=hash_token(token), scopes=scopes,
                       throttle_rate=throttle_rate)
    obj.full_clean()
    obj.save()
    return obj, token


def service_token_revoke(*, token: ServiceToken) -> bool:
    """Revoke a token at once; False when it was already revoked."""
    return bool(ServiceToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))

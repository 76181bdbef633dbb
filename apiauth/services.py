"""Writes of service tokens: create (the plain token is returned once) and revoke."""

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import TOKEN_PREFIX, ServiceToken, hash_token
from .token_cache import token_changed


def service_token_create(*, name: str, scopes: list[str], organizations=(), all_organizations: bool = False,
                         throttle_rate: str = "") -> tuple[ServiceToken, str]:
    """Create a token for the listed orgs, or for every org, and return it with its plain text (shown once).

    Exactly one of `organizations` (orgs or their ids) and `all_organizations` must be given.
    """
    organizations = list(organizations)
    validate_organization_choice(organizations, all_organizations)
    scopes = sorted(set(scopes))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    obj = ServiceToken(name=name, prefix=token[:12], token_hash=hash_token(token), scopes=scopes,
                       all_organizations=all_organizations, throttle_rate=throttle_rate)
    obj.full_clean()
    with transaction.atomic():
        obj.save()
        obj.organizations.set(organizations)
    return obj, token


def validate_organization_choice(organizations, all_organizations: bool) -> None:
    """A token is for a list of orgs or, explicitly, for every org: never both, never neither."""
    if all_organizations and organizations:
        raise ValidationError({"organizations": ["List orgs or choose all organizations, not both."]})
    if not all_organizations and not organizations:
        raise ValidationError({"organizations": ["List the orgs the token may use, or choose all organizations "
                                                 "for a platform-wide service."]})


def service_token_revoke(*, token: ServiceToken) -> bool:
    """Revoke a token at once (every web process refuses it from its next request); False when already revoked."""
    revoked = bool(ServiceToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))
    token_changed(token.token_hash or ServiceToken.objects.get(pk=token.pk).token_hash)
    return revoked

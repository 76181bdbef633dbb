"""Service tokens: only a SHA-256 hash of each token is stored, with a short visible prefix."""

import hashlib

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from ledger.models import Organization

TOKEN_PREFIX = "cst_"


class Scope(models.TextChoices):
    READ = "read", "Read (balances, lots, ledger, rate cards)"
    CHARGE = "charge", "Charge (read + estimates, holds, charges)"
    MANAGE = "manage", "Manage (everything)"


# What each scope grants: charge includes read, manage includes everything.
SCOPE_GRANTS = {
    Scope.READ: {Scope.READ},
    Scope.CHARGE: {Scope.READ, Scope.CHARGE},
    Scope.MANAGE: {Scope.READ, Scope.CHARGE, Scope.MANAGE},
}


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 hex digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_scopes(value) -> None:
    if not isinstance(value, list) or not value or any(scope not in Scope.values for scope in value):
        raise ValidationError(f"Choose one or more of {', '.join(Scope.values)}.")


def validate_rate(value: str) -> None:
    if not value:
        return
    try:
        count, period = value.split("/")
        if int(count) < 1 or period[0] not in "smhd":
            raise ValueError
    except (ValueError, IndexError):
        raise ValidationError("Write a rate as N/s, N/min, N/hour or N/day.")


class ServiceTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ServiceToken(models.Model):
    """A bearer token of one internal service (campaign engine, OTP sender, ...)."""

    name = models.CharField(max_length=100, unique=True, help_text="The service using it; recorded as the actor.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The first characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, validators=[validate_scopes])
    throttle_rate = models.CharField(max_length=20, blank=True, validators=[validate_rate],
                                     help_text="Requests allowed per token, e.g. 600/min; empty: the API default.")
    all_organizations = models.BooleanField(
        "all organizations", default=False,
        help_text="Platform-wide services only: the token sees and spends every org, present and future.")
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="service_tokens",
        help_text="The orgs this token sees and spends (when it is not for all organizations).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ServiceTokenQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def grants(self, scope: str) -> bool:
        """True when one of the token's scopes includes `scope`."""
        return any(scope in SCOPE_GRANTS.get(own, set()) for own in self.scopes)

    def visible_organizations(self):
        """The orgs this token may see: every org with `all_organizations`, else only its listed ones."""
        return Organization.objects.all() if self.all_organizations else self.organizations.all()

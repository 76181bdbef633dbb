"""Rate card models: per-org versions of prices by channel, country and category.

A version is in force from `effective_from`; the version in force at an instant is the newest
(not cancelled) with `effective_from <= instant`. Versions are never edited after they start:
an edit is a new version.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ledger.history import ActorHistory, history_user
from ledger.models import MoneyField, Organization


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    WHATSAPP = "whatsapp", "WhatsApp"
    XENGAGE = "xengage", "X-Engage"


class WhatsAppCategory(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    UTILITY = "utility", "Utility"
    AUTHENTICATION = "authentication", "Authentication"
    SERVICE = "service", "Service"


CHANNELS: list[dict] = [
    {"code": Channel.SMS.value, "name": Channel.SMS.label, "unit": "message", "priced_by_country": True,
     "categories": []},
    {"code": Channel.EMAIL.value, "name": Channel.EMAIL.label, "unit": "email", "priced_by_country": False,
     "categories": []},
    {"code": Channel.WHATSAPP.value, "name": Channel.WHATSAPP.label, "unit": "conversation", "priced_by_country": True,
     "categories": list(WhatsAppCategory.values)},
    {"code": Channel.XENGAGE.value, "name": Channel.XENGAGE.label, "unit": "customer", "priced_by_country": True,
     "categories": []},
]
CHANNEL_CATEGORIES: dict[str, frozenset[str]] = {item["code"]: frozenset(item["categories"]) for item in CHANNELS}
PRICED_BY_COUNTRY: dict[str, bool] = {item["code"]: item["priced_by_country"] for item in CHANNELS}


def channel_list() -> list[dict]:
    """Channel metadata for `GET /channels`: code, name, unit, priced_by_country (and categories)."""
    return [{**item, "categories": list(item["categories"])} for item in CHANNELS]


class VersionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"
    CANCELLED = "cancelled", "Cancelled"


class RateCardVersionQuerySet(models.QuerySet):
    def in_force(self, at) -> "RateCardVersionQuerySet":
        """The rule "in force at `at`": not cancelled and started (`effective_from <= at`), the one in force first.

        The first row per org is its version in force at `at`; the rest are the versions it replaced.
        """
        return (self.filter(effective_from__lte=at).exclude(status=VersionStatus.CANCELLED)
                .order_by("-effective_from", "-number"))


class RateCardVersion(models.Model):
    """One version of an org's rate card."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="rate_card_versions")
    number = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_by_service = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    history = HistoricalRecords(bases=[ActorHistory], get_user=history_user)

    objects = RateCardVersionQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "-effective_from", "-number"]
        indexes = [models.Index(fields=["organization", "-effective_from"], name="ratecard_in_force")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="one_version_number_per_org"),
            models.CheckConstraint(condition=Q(status__in=VersionStatus.values), name="ratecard_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Rate card v{self.number} of {self.organization.name}"

    @property
    def created_by_label(self) -> str:
        """Who made this version: the user's name or the service's."""
        if self.created_by_id is not None:
            user = self.created_by
            return user.get_full_name() or user.get_username()
        return self.created_by_service or "system"


class Rate(models.Model):
    """(channel, country or default, category or any) -> unit price, within one version.

    `country` is an ISO 3166-1 alpha-2 code or "" for the channel's default; `category` is
    "" for any category.
    """

    version = models.ForeignKey(RateCardVersion, on_delete=models.CASCADE, related_name="rates")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    country = models.CharField(max_length=2, blank=True, default="")
    category = models.CharField(max_length=32, blank=True, default="")
    unit_price = MoneyField()
    history = HistoricalRecords(bases=[ActorHistory], get_user=history_user)

    class Meta:
        ordering = ["channel", "country", "category"]
        constraints = [
            models.UniqueConstraint(fields=["version", "channel", "country", "category"], name="one_rate_per_key"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="rate_unit_price_not_negative"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="rate_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.country or 'default'}/{self.category or 'any'}"

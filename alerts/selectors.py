"""Reads for alerts: settings with currency defaults, open notices, burn rate, who sees what."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Case, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from ledger.models import ZERO, Account, MoneyField, Organization, Transaction, TransactionKind
from ledger.selectors import organizations_for

from .models import (
    DEFAULT_THRESHOLDS,
    FALLBACK_THRESHOLD,
    AlertSettings,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    default_threshold,
)

BURN_WINDOW = timedelta(days=7)
BURN_KINDS = (TransactionKind.CHARGE, TransactionKind.HOLD_CAPTURE)


def alert_settings_for(organization: Organization) -> AlertSettings:
    """The org's settings, or unsaved defaults (threshold by currency) when it has none yet."""
    try:
        return organization.alert_settings
    except AlertSettings.DoesNotExist:
        return AlertSettings(organization=organization,
                             low_credit_threshold=default_threshold(organization.currency))


def low_credit_threshold(organization: Organization) -> Decimal:
    """The org's low-credit threshold: its alert setting, else its currency's default."""
    return Decimal(alert_settings_for(organization).low_credit_threshold)


def threshold_expression():
    """`low_credit_threshold` in SQL, for querysets of orgs (its alert setting, else the currency default)."""
    default = Case(*[When(currency=code, then=Value(value)) for code, value in DEFAULT_THRESHOLDS.items()],
                   default=Value(FALLBACK_THRESHOLD), output_field=MoneyField())
    return Coalesce(F("alert_settings__low_credit_threshold"), default, output_field=MoneyField())


def is_low(available: Decimal, threshold: Decimal) -> bool:
    """Low credit: available has reached the threshold (at or below it; "when it reaches INR 100")."""
    return available <= threshold


def low_condition(available: str, threshold: str) -> Q:
    """`is_low` as a queryset condition over an available and a threshold annotation."""
    return Q(**{f"{available}__lte": F(threshold)})


def recipients_for(organization: Organization, settings: AlertSettings | None = None) -> list[str]:
    """Alert email recipients: the configured list, else the org admins' addresses."""
    settings = settings or alert_settings_for(organization)
    if settings.recipients:
        return list(dict.fromkeys(settings.recipients))
    return sorted({email for email in organization.admins.values_list("email", flat=True) if email})


def burn_per_day(account: Account, at: datetime) -> Decimal:
    """Average daily usage (charges and hold captures) of a funding account over the 7 days before `at`."""
    total = (Transaction.objects.filter(account=account, kind__in=BURN_KINDS, created_at__gt=at - BURN_WINDOW,
                                        created_at__lte=at)
             .aggregate(total=Sum("amount"))["total"]) or ZERO
    return total / BURN_WINDOW.days


def open_notifications(organization: Organization, limit: int = 10) -> list[Notification]:
    """Notices not yet dismissed, newest first: the banners of the org page."""
    return list(Notification.objects.filter(organization=organization, dismissed_at__isnull=True)
                .select_related("account")[:limit])


def notifications_for(user) -> QuerySet[Notification]:
    return Notification.objects.filter(organization__in=organizations_for(user))


def alert_settings_visible_to(user) -> QuerySet[AlertSettings]:
    return AlertSettings.objects.filter(organization__in=organizations_for(user))


def webhook_endpoints_for(user) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization__in=organizations_for(user))


def webhook_deliveries_for(user) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint__organization__in=organizations_for(user))

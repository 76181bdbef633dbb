"""Reads for alerts: settings with currency defaults, open notices, burn rate, who sees what."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum

from ledger.models import ZERO, Account, BalanceMode, Organization, Transaction, TransactionKind
from ledger.selectors import organizations_for

from .models import AlertSettings, Notification, WebhookDelivery, WebhookEndpoint, default_threshold

BURN_WINDOW = timedelta(days=7)
BURN_KINDS = (TransactionKind.CHARGE, TransactionKind.HOLD_CAPTURE)


def alert_settings_for(organization: Organization) -> AlertSettings:
    """The org's settings, or unsaved defaults (threshold by currency) when it has none yet."""
    try:
        return organization.alert_settings
    except AlertSettings.DoesNotExist:
        return AlertSettings(organization=organization,
                             low_credit_threshold=default_threshold(organization.currency))


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


def stale_alert_accounts():
    """Funding accounts whose balance or held changed since their last alert check (or never checked, holding money).

    The catch-up job checks them: their queued check was lost (broker down, worker killed, database blip).
    """
    accounts = Account.objects.filter(balance_mode=BalanceMode.OWN).annotate(
        state_id=F("alert_state__id"), seen_balance=F("alert_state__checked_balance"),
        seen_held=F("alert_state__checked_held"))
    never_checked = Q(state_id__isnull=True) & (Q(balance__lt=0) | Q(balance__gt=0) | Q(held__gt=0))
    moved = Q(state_id__isnull=False) & (
        Q(seen_balance__isnull=True) | Q(seen_held__isnull=True) | Q(seen_balance__lt=F("balance"))
        | Q(seen_balance__gt=F("balance")) | Q(seen_held__lt=F("held")) | Q(seen_held__gt=F("held")))
    return accounts.filter(never_checked | moved)


def alert_check_due(account_id) -> bool:
    """Whether a funding account's balance or held moved since its last alert check."""
    return stale_alert_accounts().filter(pk=account_id).exists()

"""Alert checks and notices: each alert fires once per crossing, is recorded as a notification,
emailed and published to webhooks after commit. Nothing here moves money."""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, Max, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from creditsite.resilience import enqueue
from ledger.models import Account, BalanceMode, CreditLot, Organization
from ledger.money import money  # the one money formatter of screens, emails and messages
from ledger.times import local_time
from ratecards.models import RateCardVersion, VersionStatus

from .emails import send_alert_email
from .models import (
    AccountAlertState,
    AlertSettings,
    LotExpiryWarning,
    Notification,
    NotificationKind,
    NotificationLevel,
    WebhookEvent,
    default_threshold,
)
from .selectors import alert_settings_for, burn_per_day, is_low, threshold_for
from .webhooks import event_publish

logger = logging.getLogger(__name__)

RATECARD_NOTICE_WINDOW = timedelta(days=2)  # versions that took effect longer ago than this are not announced


def alert_settings_get_or_create(*, organization: Organization) -> AlertSettings:
    """The org's alert settings, created with its currency's default threshold on first use."""
    settings, _ = AlertSettings.objects.get_or_create(
        organization=organization, defaults={"low_credit_threshold": default_threshold(organization.currency)})
    return settings


def notification_create(*, organization: Organization, kind: str, level: str, title: str, message: str,
                        account: Account | None = None, data: dict | None = None, dedupe_key: str = "",
                        event: str | None = None, email: bool = True,
                        settings: AlertSettings | None = None) -> Notification | None:
    """Record a notice; after commit email it (if enabled) and publish `event` to the org's webhooks.

    With a `dedupe_key` already used by the org, nothing happens and None is returned.
    """
    data = data or {}
    if dedupe_key and Notification.objects.filter(organization=organization, dedupe_key=dedupe_key).exists():
        return None
    settings = settings or alert_settings_for(organization)
    email = email and settings.email_enabled
    try:
        with transaction.atomic():
            notification = Notification.objects.create(organization=organization, account=account, kind=kind,
                                                       level=level, title=title, message=message, data=data,
                                                       dedupe_key=dedupe_key, email_pending=email)
    except IntegrityError:  # a concurrent run recorded the same key first
        return None
    if event:
        event_publish(organization=organization, event=event, data={"title": title, "message": message, **data})
    if email:
        transaction.on_commit(lambda: enqueue(send_alert_email, notification.pk))
    return notification


def notifications_dismiss(*, notifications, at: datetime | None = None) -> int:
    """Hide notices from the org page banners."""
    return notifications.filter(dismissed_at__isnull=True).update(dismissed_at=at or timezone.now())


def _account_data(account: Account, available: Decimal, threshold: Decimal | None = None) -> dict:
    data = {"account": {"id": str(account.pk), "name": account.name, "is_master": account.is_master},
            "currency": account.organization.currency, "balance": str(account.balance),
            "available": str(available)}
    if threshold is not None:
        data["threshold"] = str(threshold)
    return data


def account_alerts_check(*, account_id, at: datetime | None = None) -> list[Notification]:
    """Compare a funding account with its thresholds and fire what crossed since the last check.

    The low-credit threshold is the account's own, else its org's (alerts.selectors.threshold_for).

    Low balance fires when available becomes low (`selectors.is_low`) and again only after it has
    recovered; negative balance and runway likewise. The state row is
    locked, so concurrent checks of one account cannot fire twice.
    """
    at = at or timezone.now()
    AccountAlertState.objects.get_or_create(account_id=account_id)
    created: list[Notification | None] = []
    with transaction.atomic():
        state = AccountAlertState.objects.select_for_update().get(account_id=account_id)
        account = Account.objects.select_related("organization").get(pk=account_id)
        if account.balance_mode != BalanceMode.OWN:
            return []
        organization = account.organization
        settings = alert_settings_for(organization)
        currency = organization.currency
        available = account.available(at)
        threshold = threshold_for(account, settings)
        common = {"organization": organization, "account": account, "settings": settings}

        low = is_low(available, threshold)
        if low and not state.low_balance:
            state.low_balance = True
            created.append(notification_create(
                **common, kind=NotificationKind.LOW_BALANCE, level=NotificationLevel.WARNING,
                title=f"Low credits on {account.name}",
                message=f"Available credits on {account.name} are {money(available, currency)}, at or below the alert "
                        f"threshold of {money(threshold, currency)}. Add credits to keep sending.",
                data=_account_data(account, available, threshold), event=WebhookEvent.BALANCE_LOW))
        elif not low and state.low_balance:
            state.low_balance = False
            notifications_dismiss(notifications=Notification.objects.filter(
                account=account, kind=NotificationKind.LOW_BALANCE), at=at)
            created.append(notification_create(
                **common, kind=NotificationKind.BALANCE_RECOVERED, level=NotificationLevel.INFO,
                title=f"Credits back above the threshold on {account.name}",
                message=f"Available credits on {account.name} are {money(available, currency)} again.",
                data=_account_data(account, available, threshold), event=WebhookEvent.BALANCE_RECOVERED,
                email=False))

        if account.balance < 0 and not state.negative_balance:
            state.negative_balance = True
            created.append(notification_create(
                **common, kind=NotificationKind.NEGATIVE_BALANCE, level=NotificationLevel.DANGER,
                title=f"Negative balance on {account.name}",
                message=f"The balance of {account.name} is {money(account.balance, currency)}: credits are "
                        f"exhausted and transactional traffic is running on debt. Add credits to repay it.",
                data=_account_data(account, available), event=WebhookEvent.BALANCE_DEPLETED))
        elif account.balance >= 0 and state.negative_balance:
            state.negative_balance = False
            notifications_dismiss(notifications=Notification.objects.filter(
                account=account, kind=NotificationKind.NEGATIVE_BALANCE), at=at)

        days = settings.runway_alert_days
        if days:
            burn = burn_per_day(account, at)
            if burn > 0 and available > 0:
                runway = available / burn
                if runway < days and not state.runway_low:
                    state.runway_low = True
                    created.append(notification_create(
                        **common, kind=NotificationKind.RUNWAY, level=NotificationLevel.WARNING,
                        title=f"Credits on {account.name} last about {runway:.1f} days",
                        message=f"At the last 7 days' usage of {money(burn, currency)} a day, the "
                                f"{money(available, currency)} available on {account.name} last about "
                                f"{runway:.1f} days, fewer than {days}.",
                        data={**_account_data(account, available), "burn_per_day": str(burn.quantize(Decimal("0.000001"))),
                              "runway_days": str(runway.quantize(Decimal("0.1"))), "runway_alert_days": days}))
                elif runway >= days and state.runway_low:
                    state.runway_low = False
            elif burn == 0 and state.runway_low:
                state.runway_low = False
        elif state.runway_low:
            state.runway_low = False

        state.checked_at = at
        state.checked_balance, state.checked_held = account.balance, account.held
        state.save(update_fields=["low_balance", "negative_balance", "runway_low", "checked_at", "checked_balance",
                                  "checked_held"])
    return [notification for notification in created if notification is not None]


def expiry_warnings_send(*, at: datetime | None = None) -> list[Notification]:
    """Warn each org once per lot about credits expiring within its warning window (one notice per org and run)."""
    at = at or timezone.now()
    widest = max(AlertSettings.objects.aggregate(days=Max("expiry_warning_days"))["days"] or 0, 7)
    lots = (CreditLot.objects.filter(remaining__gt=0, expires_at__gt=at, expires_at__lte=at + timedelta(days=widest))
            .exclude(Exists(LotExpiryWarning.objects.filter(lot=OuterRef("pk"))))
            .select_related("account__organization").order_by("expires_at", "pk"))
    by_org: dict = defaultdict(list)
    windows: dict = {}
    for lot in lots.iterator(chunk_size=2000):
        organization = lot.account.organization
        if organization.pk not in windows:
            windows[organization.pk] = (organization, alert_settings_for(organization))
        if lot.expires_at <= at + timedelta(days=windows[organization.pk][1].expiry_warning_days):
            by_org[organization.pk].append(lot)
    created = []
    for org_id, org_lots in by_org.items():
        organization, settings = windows[org_id]
        currency = organization.currency
        total = sum((lot.remaining for lot in org_lots), Decimal(0))
        first = local_time(min(lot.expires_at for lot in org_lots), organization)
        data = {"currency": currency, "total": str(total), "lots": [
            {"id": lot.pk, "account": lot.account.name, "account_id": str(lot.account_id),
             "remaining": str(lot.remaining), "expires_at": lot.expires_at.isoformat(),
             "expires_at_local": local_time(lot.expires_at, organization)}
            for lot in org_lots[:200]]}
        with transaction.atomic():
            notification = notification_create(
                organization=organization, settings=settings, kind=NotificationKind.CREDITS_EXPIRING,
                level=NotificationLevel.WARNING, title=f"{money(total, currency)} of credits expire soon",
                message=f"{money(total, currency)} in {len(org_lots)} lot(s) expire within "
                        f"{settings.expiry_warning_days} days, the first on {first}. "
                        f"Use them or they are lost.",
                data=data, event=WebhookEvent.CREDITS_EXPIRING)
            LotExpiryWarning.objects.bulk_create(
                [LotExpiryWarning(lot=lot, notification=notification, created_at=at) for lot in org_lots])
        created.append(notification)
    return created


def _ratecard_key(pk_ref):
    return Concat(Value("ratecard:"), Cast(pk_ref, output_field=CharField()))


def ratecard_activation_notices(*, at: datetime | None = None) -> list[Notification]:
    """Tell each org once when a later rate card version took effect (the first version is not news)."""
    at = at or timezone.now()
    earlier = RateCardVersion.objects.filter(organization=OuterRef("organization"),
                                             effective_from__lt=OuterRef("effective_from")
                                             ).exclude(status=VersionStatus.CANCELLED)
    versions = (RateCardVersion.objects.filter(effective_from__lte=at, effective_from__gt=at - RATECARD_NOTICE_WINDOW)
                .exclude(status=VersionStatus.CANCELLED).filter(Exists(earlier))
                .exclude(Exists(Notification.objects.filter(organization=OuterRef("organization"),
                                                            dedupe_key=_ratecard_key(OuterRef("pk")))))
                .select_related("organization").order_by("effective_from", "pk"))
    created = []
    for version in versions:
        organization = version.organization
        with transaction.atomic():
            notification = notification_create(
                organization=organization, kind=NotificationKind.RATECARD_ACTIVATED, level=NotificationLevel.INFO,
                title=f"Rate card version {version.number} is in effect",
                message=f"Prices of rate card version {version.number} apply to every send since "
                        f"{local_time(version.effective_from, organization)}.",
                data={"version": {"id": version.pk, "number": version.number,
                                  "effective_from": version.effective_from.isoformat()}},
                dedupe_key=f"ratecard:{version.pk}", event=WebhookEvent.RATECARD_ACTIVATED)
        if notification is not None:
            created.append(notification)
    return created


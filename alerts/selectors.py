"""Reads for alerts: settings and thresholds with their defaults, live banners, burn rate, who sees what."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ledger.compiled import SENTINEL_UUID, CompiledQuery
from ledger.models import (
    ZERO,
    Account,
    BalanceMode,
    CreditLot,
    MoneyField,
    Organization,
    Transaction,
    TransactionKind,
)
from ledger.selectors import organizations_for

from .models import (
    DEFAULT_THRESHOLDS,
    FALLBACK_THRESHOLD,
    AccountThreshold,
    AlertSettings,
    Notification,
    NotificationKind,
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


def threshold_for(account: Account, settings: AlertSettings | None = None) -> Decimal:
    """An account's low-credit threshold: its own, else its org's (the org's setting, else the currency default)."""
    try:
        return Decimal(account.alert_threshold.low_credit_threshold)
    except AccountThreshold.DoesNotExist:
        return Decimal((settings or alert_settings_for(account.organization)).low_credit_threshold)


def threshold_expression(account_ref: str = "pk", organization_prefix: str = "organization__"):
    """SQL for `threshold_for`: the account's threshold, else its org's setting, else the currency default.

    `account_ref` names the account's id in the outer query; `organization_prefix` the path to its org
    ("" when the outer query is on organizations).
    """
    own = AccountThreshold.objects.filter(account_id=OuterRef(account_ref)).values("low_credit_threshold")[:1]
    currency = f"{organization_prefix}currency"
    by_currency = Case(*[When(**{currency: code}, then=Value(value)) for code, value in DEFAULT_THRESHOLDS.items()],
                       default=Value(FALLBACK_THRESHOLD), output_field=MoneyField())
    return Coalesce(Subquery(own, output_field=MoneyField()),
                    F(f"{organization_prefix}alert_settings__low_credit_threshold"), by_currency,
                    output_field=MoneyField())


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


# --- live banners ------------------------------------------------------------------------------------


@dataclass
class Banner:
    """One alert as the org page shows it: today's figures while its condition lasts (`live`), else the
    notice as raised. The wording, per kind and payment scheme, is in templates/alerts/_org_banners.html."""

    notification: Notification
    live: bool
    facts: dict

    @property
    def kind(self) -> str:
        return self.notification.kind

    @property
    def level(self) -> str:
        return self.notification.level


def _account_facts(account: Account, at: datetime) -> dict:
    return {"account": account, "balance": account.balance, "available": account.available(at),
            "credit_limit": account.effective_credit_limit(at), "threshold": threshold_for(account)}


def _low_balance(notification: Notification, at: datetime) -> dict | None:
    facts = _account_facts(notification.account, at)
    return facts if is_low(facts["available"], facts["threshold"]) else None


def _negative_balance(notification: Notification, at: datetime) -> dict | None:
    facts = _account_facts(notification.account, at)
    return facts if facts["balance"] < 0 else None


def _runway(notification: Notification, at: datetime) -> dict | None:
    facts = _account_facts(notification.account, at)
    days = alert_settings_for(notification.organization).runway_alert_days
    burn = burn_per_day(notification.account, at)
    if not days or burn <= 0 or facts["available"] <= 0 or facts["available"] / burn >= days:
        return None
    return {**facts, "burn_per_day": burn, "runway_days": (facts["available"] / burn).quantize(Decimal("0.1")),
            "runway_alert_days": days}


def _credits_expiring(notification: Notification, at: datetime) -> dict | None:
    ids = [lot["id"] for lot in notification.data.get("lots", []) if "id" in lot]
    lots = list(CreditLot.objects.filter(pk__in=ids, remaining__gt=0, expires_at__gt=at).order_by("expires_at"))
    if not lots:
        return None
    return {"total": sum((lot.remaining for lot in lots), ZERO), "lots": len(lots), "first": lots[0].expires_at}


LIVE_FACTS = {
    NotificationKind.LOW_BALANCE: _low_balance,
    NotificationKind.NEGATIVE_BALANCE: _negative_balance,
    NotificationKind.RUNWAY: _runway,
    NotificationKind.CREDITS_EXPIRING: _credits_expiring,
}


BANNERS_SHOWN = 10

# An org's open notices, up to three per banner shown (most may have lapsed): compiled once per process, the
# queryset with its three select_related costs Django more to build than PostgreSQL to run.
OPEN_NOTICES = CompiledQuery(
    lambda organization_id: Notification.objects.filter(organization_id=organization_id, dismissed_at__isnull=True)
    .exclude(kind=NotificationKind.BALANCE_RECOVERED)
    .select_related("organization", "account__organization", "account__alert_threshold")[:BANNERS_SHOWN * 3],
    organization_id=SENTINEL_UUID)


def live_banners(organization: Organization, at: datetime | None = None) -> list[Banner]:
    """The org page's banners: open notices whose condition still holds, with today's figures.

    Balance notices (low, negative, runway, expiring credits) are recomputed now and disappear as soon as
    their condition is gone, before the alert check dismisses them; other notices are shown as raised
    ("at <time> it was"). Recovery notices are not banners.
    """
    at = at or timezone.now()
    banners = []
    for notice in OPEN_NOTICES(organization_id=organization.pk):
        facts_of = LIVE_FACTS.get(notice.kind)
        if facts_of is not None and (notice.account_id or notice.kind == NotificationKind.CREDITS_EXPIRING):
            facts = facts_of(notice, at)
            if facts is None:
                continue
            banners.append(Banner(notice, True, facts))
        else:
            banners.append(Banner(notice, False, {}))
        if len(banners) == BANNERS_SHOWN:
            break
    return banners

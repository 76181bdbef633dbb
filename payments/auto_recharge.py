"""Auto-recharge: buy credits with a saved payment method when an account's available falls below a threshold.

The ledger's `balances_changed` event (after commit) queues one debounced check per account that has an
enabled auto-recharge; the check fires at most once per crossing (it re-arms when available is back at
or above the threshold), at most N times a UTC day, and creates the top-up under a unique trigger key
(account:crossing) so a retried task cannot buy twice. The charge runs in its own task; a failed
payment turns auto-recharge off and alerts the org's recipients. A beat job (auto_recharges_catch_up)
checks every enabled auto-recharge again, for accounts that fell below their threshold while no
recharge could fire (switched off after a declined card and on again with a newly saved one, a lost
queue message, the daily cap reached yesterday).
"""

import logging
import time
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from alerts.models import NotificationKind, NotificationLevel
from alerts.services import notification_create
from ledger.currencies import minor_unit
from ledger.errors import InvalidOperation
from ledger.models import Account, BalanceMode

from . import providers, services
from .conf import pending_ttl
from .models import AutoRecharge, RechargeMode, TopUp, TopUpLimit, TopUpOrigin, TopUpStatus
from .pricing import quote
from .providers.base import Event

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 2
PENDING_TTL_SECONDS = 120
ENABLED_IDS_TTL_SECONDS = 30
_enabled: dict = {"ids": frozenset(), "loaded_at": 0.0}


def enabled_account_ids() -> frozenset:
    """Accounts with an enabled auto-recharge, re-read from the database at most every 30 s per process."""
    if time.monotonic() - _enabled["loaded_at"] > ENABLED_IDS_TTL_SECONDS:
        ids = AutoRecharge.objects.filter(enabled=True).values_list("account_id", flat=True)
        _enabled.update(ids=frozenset(str(pk) for pk in ids), loaded_at=time.monotonic())
    return _enabled["ids"]


def enabled_ids_forget() -> None:
    _enabled["loaded_at"] = 0.0


def pending_key(account_id) -> str:
    return f"payments:auto-recharge-pending:{account_id}"


def on_balances_changed(sender, account_ids, **kwargs) -> None:
    """Receiver of ledger.events.balances_changed: queue a debounced check for accounts with auto-recharge."""
    try:
        watched = enabled_account_ids()
    except Exception:
        logger.exception("Could not read the auto-recharge accounts")
        return
    for account_id in dict.fromkeys(str(pk) for pk in account_ids):
        if account_id in watched and cache.add(pending_key(account_id), 1, timeout=PENDING_TTL_SECONDS):
            auto_recharge_check_task.apply_async((account_id,), countdown=DEBOUNCE_SECONDS)


def auto_recharge_validate(*, account: Account, threshold, mode: str, amount=None, target=None, provider: str,
                           payment_method: str, billing: dict) -> dict:
    """Check an auto-recharge like a top-up (limits, billing, a provider that charges saved methods);
    returns the cleaned billing details."""
    if account.balance_mode != BalanceMode.OWN:
        raise InvalidOperation(errors={"account": ["Shared-balance subaccounts hold no funds."]})
    details = services.billing_clean(billing)
    chosen = providers.get(provider)
    if chosen is None or not chosen.supports_saved_methods or not chosen.is_configured():
        raise InvalidOperation(errors={"provider": ["Choose a configured provider that charges saved methods."]})
    if not payment_method.strip():
        raise InvalidOperation(errors={"payment_method": ["Enter the saved payment method or mandate id."]})
    if mode == RechargeMode.FIXED_AMOUNT:
        quote(currency=account.organization.currency, amount=amount, country=details["country"],
              state=details["state"])
    elif target is None or Decimal(target) <= Decimal(threshold):
        raise InvalidOperation(errors={"target": ["The target must be above the threshold."]})
    return details


def auto_recharge_save(*, account: Account, threshold, mode: str, amount=None, target=None, max_per_day: int = 1,
                       provider: str, customer_reference: str = "", payment_method: str, billing: dict,
                       enabled: bool = True, user=None) -> AutoRecharge:
    """Create or change an account's auto-recharge (validated by auto_recharge_validate); it starts armed."""
    details = auto_recharge_validate(account=account, threshold=threshold, mode=mode, amount=amount, target=target,
                                     provider=provider, payment_method=payment_method, billing=billing)
    with transaction.atomic():
        rule, _ = AutoRecharge.objects.update_or_create(account=account, defaults={
            "threshold": threshold, "mode": mode, "amount": amount if mode == RechargeMode.FIXED_AMOUNT else None,
            "target": target if mode == RechargeMode.TOP_UP_TO_TARGET else None, "max_per_day": max_per_day,
            "provider": provider, "customer_reference": customer_reference, "payment_method": payment_method,
            "billing": details, "enabled": enabled, "disabled_reason": "", "armed": True, "created_by": user})
    enabled_ids_forget()
    return rule


def recharge_amount(rule: AutoRecharge, available: Decimal, currency: str) -> Decimal:
    """What to buy: the fixed amount, or up to the target (rounded up to the minor unit), within the limits."""
    if rule.mode == RechargeMode.FIXED_AMOUNT:
        return rule.amount
    wanted = (rule.target - available).quantize(minor_unit(currency), rounding=ROUND_CEILING)
    limit = TopUpLimit.objects.filter(currency=currency).first()
    if limit is not None:
        wanted = min(max(wanted, limit.min_amount), limit.max_amount)
    return wanted


def auto_recharge_check(*, account_id, at: datetime | None = None) -> TopUp | None:
    """Fire an account's auto-recharge if available crossed below the threshold since it last fired.

    Returns the new pending top-up (its charge is queued after commit), or None.
    """
    at = at or timezone.now()
    with transaction.atomic(durable=True):
        rule = (AutoRecharge.objects.select_for_update(of=("self",)).select_related("account__organization")
                .filter(account_id=account_id).first())
        if rule is None or not rule.enabled:
            return None
        account = rule.account
        currency = account.organization.currency
        available = account.available(at)
        if available >= rule.threshold:
            if not rule.armed:
                rule.armed = True
                rule.save(update_fields=["armed"])
            return None
        if not rule.armed:
            return None  # already fired for this crossing
        day_start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        fired_today = TopUp.objects.filter(  # a recharge whose payment failed bought nothing: not counted
            account=account, origin=TopUpOrigin.AUTO_RECHARGE, status__in=(TopUpStatus.PENDING, TopUpStatus.PAID),
            created_at__gte=day_start, created_at__lt=day_start + timedelta(days=1))
        if fired_today.count() >= rule.max_per_day:
            logger.info("Auto-recharge of %s skipped: %s already today", account_id, rule.max_per_day)
            return None
        billing = rule.billing
        try:
            priced = quote(currency=currency, amount=recharge_amount(rule, available, currency),
                           country=billing.get("country", ""), state=billing.get("state", ""))
        except InvalidOperation as exc:
            _turn_off(rule, f"The recharge amount is not allowed: {exc.detail}", at)
            return None
        rule.armed, rule.crossings = False, rule.crossings + 1
        rule.save(update_fields=["armed", "crossings"])
        top_up = TopUp.objects.create(
            organization=account.organization, account=account, amount=priced.amount, tax=priced.tax,
            total=priced.total, currency=currency, tax_lines=[line.as_dict() for line in priced.tax_lines],
            billing_name=billing.get("name", ""), billing_address=billing.get("address", ""),
            billing_country=billing.get("country", ""), billing_state=billing.get("state", ""),
            billing_tax_id=billing.get("tax_id", ""), billing_email=billing.get("email", ""),
            provider=rule.provider, origin=TopUpOrigin.AUTO_RECHARGE,
            auto_recharge_trigger=f"{account.pk}:{rule.crossings}", created_at=at,
            expires_at=at + pending_ttl(rule.provider), created_by_service="auto-recharge")
        transaction.on_commit(lambda: auto_recharge_charge_task.delay(str(top_up.pk)))
        return top_up


def auto_recharge_charge(*, top_up_id, at: datetime | None = None) -> str:
    """Charge the saved method of an auto-recharge top-up once; a failure turns auto-recharge off."""
    top_up = TopUp.objects.select_related("account__organization").get(pk=top_up_id)
    if top_up.status != TopUpStatus.PENDING or top_up.provider_reference:
        return f"nothing to do: {top_up.status}"
    rule = AutoRecharge.objects.get(account_id=top_up.account_id)
    provider = providers.get(top_up.provider)
    result = provider.charge_saved(top_up, customer=rule.customer_reference, payment_method=rule.payment_method)
    if result.reference:
        TopUp.objects.filter(pk=top_up.pk, provider_reference="").update(provider_reference=result.reference)
    if result.status == "succeeded":
        return services.payment_event_process(provider=top_up.provider, at=at, event=Event(
            event_id=f"charge:{result.payment_id}", type="auto_recharge.charged", outcome="succeeded",
            payload={"payment_id": result.payment_id}, top_up_id=str(top_up.pk), payment_id=result.payment_id,
            amount=top_up.total, currency=top_up.currency))
    if result.status == "pending":
        return "pending"
    services.payment_event_process(provider=top_up.provider, at=at, event=Event(
        event_id=f"charge-failed:{top_up.pk}", type="auto_recharge.failed", outcome="failed",
        payload={"reason": result.reason}, top_up_id=str(top_up.pk), reason=result.reason))
    with transaction.atomic(durable=True):
        locked = AutoRecharge.objects.select_for_update().get(pk=rule.pk)
        _turn_off(locked, f"The payment failed: {result.reason}", at or timezone.now())
    return "failed"


def _turn_off(rule: AutoRecharge, reason: str, at: datetime) -> None:
    """Switch an auto-recharge off and alert the org's recipients (in-app and by email, after commit)."""
    rule.enabled, rule.disabled_reason = False, reason[:255]
    rule.save(update_fields=["enabled", "disabled_reason"])
    enabled_ids_forget()
    account = rule.account
    notification_create(
        organization=account.organization, account=account, kind=NotificationKind.AUTO_RECHARGE_FAILED,
        level=NotificationLevel.DANGER, title=f"Auto-recharge of {account.name} is off",
        message=f"{reason} Auto-recharge of {account.name} was switched off: buy credits by hand and check the "
                f"saved payment method before switching it on again.",
        data={"account": {"id": str(account.pk), "name": account.name}, "reason": reason},
        dedupe_key=f"auto-recharge-off:{account.pk}:{rule.crossings}:{at:%Y%m%d%H%M%S}")


def auto_recharges_catch_up(*, at: datetime | None = None) -> int:
    """Check every enabled auto-recharge (the beat job): fire those whose account is below its threshold and
    armed, re-arm those back above it. Returns how many fired; firing stays once per crossing."""
    fired = 0
    for account_id in AutoRecharge.objects.filter(enabled=True).order_by("pk").values_list("account_id", flat=True):
        try:
            if auto_recharge_check(account_id=account_id, at=at) is not None:
                fired += 1
        except Exception:  # one account's trouble does not stop the others
            logger.exception("Auto-recharge catch-up of %s failed", account_id)
    return fired


@shared_task(name="payments.tasks.auto_recharge_catch_up")
def auto_recharge_catch_up_task(at: str | None = None) -> int:
    """The catch-up beat job (every 15 minutes)."""
    return auto_recharges_catch_up(at=datetime.fromisoformat(at) if at else None)


@shared_task(name="payments.tasks.auto_recharge_check")
def auto_recharge_check_task(account_id: str) -> str | None:
    """Fire an account's auto-recharge if it crossed its threshold (queued, debounced, by the ledger event)."""
    cache.delete(pending_key(account_id))
    top_up = auto_recharge_check(account_id=account_id)
    return str(top_up.pk) if top_up else None


@shared_task(name="payments.tasks.auto_recharge_charge")
def auto_recharge_charge_task(top_up_id: str) -> str:
    """Charge the saved payment method of an auto-recharge top-up."""
    return auto_recharge_charge(top_up_id=top_up_id)

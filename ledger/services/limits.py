"""Credit limits: the postpaid rule, setting a permanent or temporary limit, and temporary limits running out."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..errors import InvalidOperation
from ..locks import lock_account
from ..models import Account, BalanceMode, CreditLimitChange, PaymentScheme
from ..money import SYSTEM, Actor, to_amount

POSTPAID_LIMIT_MESSAGES = {
    "credit_limit": "A postpaid organization needs a credit limit above zero.",
    "payment_scheme": "Set a credit limit before switching to postpaid.",
    "amount": "A postpaid organization needs a credit limit above zero.",
}


def require_postpaid_limit(payment_scheme: str, permanent_limit: Decimal, *, field: str) -> None:
    """Postpaid needs a limit: a postpaid org's master account keeps a permanent credit limit above zero."""
    if payment_scheme == PaymentScheme.POSTPAID and permanent_limit <= 0:
        raise InvalidOperation("A postpaid organization needs a credit limit.",
                               errors={field: [POSTPAID_LIMIT_MESSAGES[field]]})


def require_funds_holder(account: Account, field_name: str = "account") -> None:
    """Only accounts in `own` balance mode (and masters) hold funds; shared subaccounts use the master's."""
    if account.balance_mode != BalanceMode.OWN:
        raise InvalidOperation(
            f"{account.name} is a shared-balance subaccount and holds no funds; use the master account.",
            errors={field_name: ["Shared-balance subaccounts hold no funds."]},
        )


def credit_limit_set(*, actor: Actor, account: Account, amount: Decimal | str, temporary_days: int | None = None,
                     comment: str = "", at: datetime | None = None, joins_caller: bool = False) -> Account:
    """Set the permanent limit, or a temporary one for N days (then the permanent one applies again).

    With `joins_caller` it commits with the caller's open transaction (an approval: approvals.services).
    """
    amount = to_amount(amount, allow_zero=True)
    require_funds_holder(account)
    if temporary_days is not None and (isinstance(temporary_days, bool) or not isinstance(temporary_days, int)
                                       or not 1 <= temporary_days <= 365):
        raise InvalidOperation(errors={"temporary_days": ["Between 1 and 365 days."]})
    at = at or timezone.now()
    with transaction.atomic(durable=not joins_caller):
        locked = lock_account(account.pk)
        previous = locked.effective_credit_limit(at)
        expires_at = None
        if temporary_days is None:
            if locked.is_master:
                require_postpaid_limit(locked.organization.payment_scheme, amount, field="amount")
            locked.credit_limit = amount
            locked.temporary_credit_limit = locked.temporary_credit_limit_expires_at = None
        else:
            expires_at = at + timedelta(days=temporary_days)
            locked.temporary_credit_limit, locked.temporary_credit_limit_expires_at = amount, expires_at
        locked.save(update_fields=["credit_limit", "temporary_credit_limit", "temporary_credit_limit_expires_at"])
        CreditLimitChange.objects.create(account=locked, amount=amount, temporary_days=temporary_days,
                                         expires_at=expires_at, previous_limit=previous, created_at=at,
                                         comment=comment, **actor.actor_fields())
        return locked


def credit_limits_expire(*, at: datetime | None = None) -> int:
    """Drop temporary credit limits past their expiry; the permanent limit applies again."""
    at = at or timezone.now()
    due = Account.objects.filter(temporary_credit_limit_expires_at__lte=at).values_list("pk", flat=True)
    count = 0
    for account_id in sorted(due, key=str):
        with transaction.atomic(durable=True):
            locked = lock_account(account_id)
            if locked.temporary_credit_limit_expires_at is None or locked.temporary_credit_limit_expires_at > at:
                continue
            previous = locked.temporary_credit_limit
            locked.temporary_credit_limit = locked.temporary_credit_limit_expires_at = None
            locked.save(update_fields=["temporary_credit_limit", "temporary_credit_limit_expires_at"])
            CreditLimitChange.objects.create(account=locked, amount=locked.credit_limit, previous_limit=previous,
                                             created_at=at, comment="Temporary credit limit expired",
                                             **SYSTEM.actor_fields())
            count += 1
    return count

"""The scheduled money jobs: each acts on whatever is due as of an instant and can run again safely.

alerts.jobs runs them (with the rate card and alert jobs) under a lock; the beat schedule is in
creditsite/settings.py. Each job takes the instant and returns how many things it did.
"""

from collections.abc import Callable
from datetime import datetime

from django.conf import settings

from . import daytotals, services
from .console_forms import form_tokens_purge
from .models import BalanceMode, Organization, PaymentScheme


def lots_expire(at: datetime) -> int:
    return services.lots_expire(at=at)


def holds_expire(at: datetime) -> int:
    return services.holds_expire(at=at)


def credit_limits_expire(at: datetime) -> int:
    return services.credit_limits_expire(at=at)


def postpaid_months_close(at: datetime) -> int:
    """Close the previous month of every postpaid org whose local month has started and is not yet invoiced."""
    candidates = (Organization.objects.filter(payment_scheme=PaymentScheme.POSTPAID,
                                              accounts__balance_mode=BalanceMode.OWN, accounts__balance__lt=0)
                  .distinct().order_by("pk"))
    invoices = 0
    for organization in candidates:
        if services.month_close_due(organization, at):
            invoices += len(services.postpaid_month_close(organization=organization, at=at))
    return invoices


def idempotency_keys_purge(at: datetime) -> int:
    """Idempotency keys of the API and one-time tokens of the console's forms, past their retention."""
    older_than = at - settings.IDEMPOTENCY_KEY_RETENTION
    return services.idempotency_keys_purge(older_than=older_than) + form_tokens_purge(older_than=older_than)


def month_totals_roll(at: datetime) -> int:
    """Roll up every org's closed local months (ended two days before `at`) into the monthly totals; the months."""
    return daytotals.roll_months(at=at)


# In the order they run: expiry before anything that reads balances, month close after holds and limits.
MONEY_JOBS: dict[str, Callable[[datetime], int]] = {
    "lots_expire": lots_expire,
    "holds_expire": holds_expire,
    "credit_limits_expire": credit_limits_expire,
    "postpaid_months_close": postpaid_months_close,
}

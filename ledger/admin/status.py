"""An org's balance status on the console (OK, low, negative, blocked): one SQL rule for the org list, its
filter and the dashboard, on the master account's figures and its low-credit threshold."""

from django.db.models import Case, CharField, F, TextChoices, Value, When
from django.utils.html import format_html

from alerts.selectors import (  # per account, else the org's, else by currency
    low_condition,
    threshold_expression,
    threshold_for,
)
from ledger.models import SpendingPolicy


class BalanceStatus(TextChoices):
    OK = "ok", "OK"
    LOW = "low", "Low"
    NEGATIVE = "negative", "Negative"
    BLOCKED = "blocked", "Blocked"


STATUS_HELP = {
    BalanceStatus.OK: "Available is above the low-credit threshold.",
    BalanceStatus.LOW: "Available has reached the low-credit threshold (at or below it), when the low-credit "
                       "alert fires.",
    BalanceStatus.NEGATIVE: "The balance is below zero (usage on credit); the credit limit still leaves some "
                            "available.",
    BalanceStatus.BLOCKED: "Nothing is available (promotional sends are refused), the spending policy stops every "
                           "charge and hold (stop when depleted, at or below the floor), or credit management is off.",
}


def master_threshold_expression():
    """SQL of the master account's low-credit threshold, on a queryset of orgs annotated with `m_id`."""
    return threshold_expression(account_ref="m_id", organization_prefix="")


def status_expression():
    """SQL of the balance status, on orgs annotated with m_balance, m_available and low_threshold."""
    return Case(
        When(credit_management_enabled=False, then=Value(BalanceStatus.BLOCKED)),
        # ledger.services.rules.is_blocked in SQL: stop when depleted, at or below the floor
        When(spending_policy=SpendingPolicy.STOP_WHEN_DEPLETED, m_available__lte=F("spending_floor"),
             then=Value(BalanceStatus.BLOCKED)),
        When(m_available__lte=0, then=Value(BalanceStatus.BLOCKED)),
        When(m_balance__lt=0, then=Value(BalanceStatus.NEGATIVE)),
        When(low_condition("m_available", "low_threshold"), then=Value(BalanceStatus.LOW)),  # as the alert counts
        default=Value(BalanceStatus.OK), output_field=CharField(),
    )


def account_threshold(account):
    """The low-credit threshold of one account (its own, else its org's)."""
    return threshold_for(account)


def status_badge(status: str, *, credit_management_enabled: bool = True):
    """The status as a labelled badge whose tooltip says what it means."""
    status = BalanceStatus(status)
    help_text = STATUS_HELP[status]
    if status == BalanceStatus.BLOCKED and not credit_management_enabled:
        help_text = "Credit management is off: charges, holds and transfers are refused."
    return format_html('<span class="console-badge status-{}" data-status="{}" title="{}">{}</span>',
                       status.value, status.value, help_text, status.label)

"""The rules a charge or a hold must pass, in one place, with the org's spending policy (docs/policies.md).

- promotional_must_fit (default): promotional traffic must fit available; transactional never refused.
- all_must_fit: every charge and every hold must fit available.
- stop_when_depleted: while available is at or below the org's floor (0 by default), every charge
  and hold is refused (org_blocked) until the org recharges; a charge drawn wholly from its hold
  spends credits already reserved and passes. Otherwise as promotional_must_fit.

The Python path applies them here; on PostgreSQL the function ledger_charge()
(ledger/sql/functions/ledger_charge.sql) applies the same rules in SQL, and raises with the numbers
these functions turn into the same errors. tests/ledger/services/test_differential.py drives both
paths through the same random operations and compares every row.
"""

from decimal import Decimal

from ..errors import (
    CreditManagementDisabled,
    HoldNotActive,
    InsufficientCredits,
    InvalidOperation,
    OrgBlocked,
)
from ..models import ZERO, Hold, HoldStatus, Organization, SpendingPolicy, Traffic
from ..money import money


def require_credit_management(organization: Organization) -> None:
    """Charges, holds and transfers need credit management switched on for the org."""
    if not organization.credit_management_enabled:
        raise CreditManagementDisabled()


def require_active_hold(hold: Hold, at) -> None:
    """A charge draws only from an active hold that has not expired."""
    if hold.status != HoldStatus.ACTIVE or hold.expires_at <= at:
        raise hold_not_active(hold.pk, hold.status if hold.status != HoldStatus.ACTIVE else "expired")


def hold_not_active(hold_id, state: str) -> HoldNotActive:
    return HoldNotActive(f"Hold {hold_id} is {state}.")


def no_such_hold() -> InvalidOperation:
    return InvalidOperation(errors={"hold": ["No such hold on this account."]})


def is_blocked(organization: Organization, available: Decimal) -> bool:
    """Stop when depleted: the org spends nothing more while available is at or below its floor."""
    return (organization.spending_policy == SpendingPolicy.STOP_WHEN_DEPLETED
            and available <= organization.spending_floor)


def org_blocked(organization: Organization) -> OrgBlocked:
    return OrgBlocked(f"{organization.name} is blocked until it recharges: its spending policy stops charges and "
                      f"holds while available credit is at or below "
                      f"{money(organization.spending_floor, organization.currency)}.")


def must_fit(organization: Organization, traffic: str) -> bool:
    """Which charges must fit available: promotional traffic, and every charge under all_must_fit."""
    return traffic == Traffic.PROMOTIONAL or organization.spending_policy == SpendingPolicy.ALL_MUST_FIT


def charge_refusal(*, organization: Organization, traffic: str, amount: Decimal, excess: Decimal,
                   available: Decimal, with_hold: bool) -> InsufficientCredits | OrgBlocked | None:
    """The error of a charge whose `excess` (what its hold does not cover) the policy refuses, else None."""
    if excess > 0 and is_blocked(organization, available):
        return org_blocked(organization)
    if not must_fit(organization, traffic) or excess <= available:
        return None
    return insufficient_charge(amount=amount, excess=excess, available=available, with_hold=with_hold,
                               currency=organization.currency)


def insufficient_charge(*, amount: Decimal, excess: Decimal, available: Decimal, with_hold: bool,
                        currency: str) -> InsufficientCredits:
    shown = money(max(ZERO, available), currency)
    if with_hold:
        return InsufficientCredits(f"The charge of {money(amount, currency)} needs {money(excess, currency)} more "
                                   f"than the hold; {shown} is available.")
    return InsufficientCredits(f"The charge of {money(amount, currency)} exceeds the {shown} available.")


def hold_refusal(*, organization: Organization, amount: Decimal,
                 available: Decimal) -> InsufficientCredits | OrgBlocked | None:
    """A hold must fit available (and a blocked org places none)."""
    if is_blocked(organization, available):
        return org_blocked(organization)
    if amount <= available:
        return None
    return InsufficientCredits(f"A hold of {money(amount, organization.currency)} exceeds the "
                               f"{money(max(ZERO, available), organization.currency)} available.")

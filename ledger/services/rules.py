"""The rules a charge or a hold must pass, in one place.

The Python path applies them here; on PostgreSQL the function ledger_charge()
(ledger/sql/functions/ledger_charge.sql) applies the same rules in SQL, and raises with the numbers
these functions turn into the same errors. tests/ledger/services/test_differential.py drives both
paths through the same random operations and compares every row.
"""

from decimal import Decimal

from ..errors import CreditManagementDisabled, HoldNotActive, InsufficientCredits, InvalidOperation
from ..models import ZERO, Hold, HoldStatus, Organization, Traffic
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


def must_fit(traffic: str) -> bool:
    """Which charges must fit available: promotional traffic; transactional traffic is never refused."""
    return traffic == Traffic.PROMOTIONAL


def charge_refusal(*, traffic: str, amount: Decimal, excess: Decimal, available: Decimal, with_hold: bool,
                   currency: str) -> InsufficientCredits | None:
    """The error of a charge whose `excess` (what its hold does not cover) does not fit available, else None."""
    if not must_fit(traffic) or excess <= available:
        return None
    return insufficient_charge(amount=amount, excess=excess, available=available, with_hold=with_hold,
                               currency=currency)


def insufficient_charge(*, amount: Decimal, excess: Decimal, available: Decimal, with_hold: bool,
                        currency: str) -> InsufficientCredits:
    shown = money(max(ZERO, available), currency)
    if with_hold:
        return InsufficientCredits(f"The charge of {money(amount, currency)} needs {money(excess, currency)} more "
                                   f"than the hold; {shown} is available.")
    return InsufficientCredits(f"The charge of {money(amount, currency)} exceeds the {shown} available.")


def hold_refusal(*, amount: Decimal, available: Decimal, currency: str) -> InsufficientCredits | None:
    """A hold must fit available."""
    if amount <= available:
        return None
    return InsufficientCredits(f"A hold of {money(amount, currency)} exceeds the "
                               f"{money(max(ZERO, available), currency)} available.")

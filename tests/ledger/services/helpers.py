"""Helpers of the service tests."""

from decimal import Decimal

from ledger import services
from ledger.models import Account
from tests.factories import SYSTEM

D = Decimal


def refreshed(account: Account) -> Account:
    account.refresh_from_db()
    return account


def charge(account, quantity=1, unit_price="1", traffic="promotional", **kwargs):
    """An SMS charge at a given unit price (no rate card needed)."""
    return services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=quantity,
                                  unit_price=unit_price, traffic=traffic, **kwargs)

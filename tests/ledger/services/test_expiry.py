"""Lot expiry, on both paths (per account and set-based): one expiry transaction per lot, running twice changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger import services
from ledger.models import Transaction
from tests.factories import SYSTEM, funded_account

from .helpers import D, charge, refreshed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


def test_expiry_moves_remaining_to_expired_and_running_twice_changes_nothing():
    master = funded_account("0")
    at = datetime(2026, 1, 15, tzinfo=UTC)
    lot = services.credits_grant(actor=SYSTEM, account=master, amount="40", expires_in="1M", at=at).lot
    services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="never", at=at)
    charge(master, quantity=10, at=at + timedelta(days=1))
    assert services.lots_expire(at=at + timedelta(days=30)) == 0
    due = at + timedelta(days=32)
    assert services.lots_expire(at=due) == 1
    assert services.lots_expire(at=due) == 0
    lot.refresh_from_db()
    assert lot.remaining == 0
    expiry = Transaction.objects.get(kind="expiry")
    assert expiry.amount == D("30") and expiry.lot_id == lot.pk
    assert expiry.postings.get(system_account__isnull=False).system_account.code == "expired"
    assert refreshed(master).balance == D("5")


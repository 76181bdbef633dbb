"""Grants (new lots, expiry dates, debt repaid first) and removals (drawn like a charge)."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.errors import InsufficientCredits, InvalidOperation
from ledger.models import Posting, SystemAccount, Transaction
from tests.factories import SYSTEM, funded_account, make_org, make_subaccount

from .helpers import D, charge, refreshed

pytestmark = pytest.mark.django_db


def test_grant_creates_lot_transaction_and_balanced_postings():
    org = make_org(currency="INR")
    master = org.master_account
    txn = services.credits_grant(actor=SYSTEM, account=master, amount="250.5", purchase_order="PO-7", comment="Q4")
    master = refreshed(master)
    assert master.balance == D("250.5")
    assert txn.kind == "grant" and txn.amount == D("250.5") and txn.reference == "PO-7"
    lot = txn.lot
    assert (lot.amount, lot.remaining, lot.purchase_order, lot.source) == (D("250.5"), D("250.5"), "PO-7", "grant")
    postings = list(Posting.objects.filter(transaction=txn).order_by("pk"))
    assert [p.amount for p in postings] == [D("250.5"), D("-250.5")]
    assert postings[0].balance_after == D("250.5") and postings[1].system_account.code == SystemAccount.Code.ISSUED
    assert sum(p.amount for p in postings) == 0


def test_grant_defaults_to_six_months_in_org_timezone():
    org = make_org(timezone_name="Asia/Kolkata")
    at = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 11 March 01:30 in Kolkata
    txn = services.credits_grant(actor=SYSTEM, account=org.master_account, amount="10", at=at)
    local = txn.lot.expires_at.astimezone(org.tz)
    assert (local.year, local.month, local.day, local.hour, local.minute) == (2026, 9, 11, 1, 30)


@pytest.mark.parametrize(("granted", "expires_in", "expected_day"), [
    ("2026-01-31", "1M", (2026, 2, 28)),
    ("2028-01-31", "1M", (2028, 2, 29)),
    ("2026-08-31", "6M", (2027, 2, 28)),
    ("2026-03-31", "2M", (2026, 5, 31)),
    ("2026-05-31", "3M", (2026, 8, 31)),
    ("2028-02-29", "1Y", (2029, 2, 28)),
])
def test_expiry_is_month_end_clamped(granted, expires_in, expected_day):
    org = make_org(timezone_name="UTC")
    at = datetime.fromisoformat(granted).replace(hour=12, tzinfo=UTC)
    txn = services.credits_grant(actor=SYSTEM, account=org.master_account, amount="1", expires_in=expires_in, at=at)
    expires = txn.lot.expires_at
    assert (expires.year, expires.month, expires.day) == expected_day


def test_never_expiring_lot():
    org = make_org()
    txn = services.credits_grant(actor=SYSTEM, account=org.master_account, amount="1", expires_in="never")
    assert txn.lot.expires_at is None


def test_grant_refuses_bad_input():
    master = make_org().master_account
    for bad in ("0", "-5", "1.0000001", 1.5, "abc"):
        with pytest.raises(InvalidOperation):
            services.credits_grant(actor=SYSTEM, account=master, amount=bad)
    with pytest.raises(InvalidOperation):
        services.credits_grant(actor=SYSTEM, account=master, amount="1", expires_in="5M")
    assert Transaction.objects.count() == 0


def test_negative_balance_is_repaid_from_new_lot_first():
    master = funded_account("10")
    charge(master, quantity=25, traffic="transactional")
    assert refreshed(master).balance == D("-15")
    txn = services.credits_grant(actor=SYSTEM, account=master, amount="40")
    master = refreshed(master)
    assert master.balance == D("25")
    assert (txn.lot.amount, txn.lot.remaining) == (D("40"), D("25"))


def test_grant_smaller_than_debt_leaves_empty_lot_and_smaller_debt():
    master = funded_account("0")
    charge(master, quantity=30, traffic="transactional")
    txn = services.credits_grant(actor=SYSTEM, account=master, amount="10")
    assert refreshed(master).balance == D("-20")
    assert txn.lot.remaining == 0


def test_shared_subaccount_cannot_receive_grant():
    org = make_org()
    shared = make_subaccount(org, "Shared", balance_mode="shared")
    with pytest.raises(InvalidOperation):
        services.credits_grant(actor=SYSTEM, account=shared, amount="5")


def test_remove_draws_lots_like_a_charge():
    master = funded_account("0")
    at = timezone.now()
    later = services.credits_grant(actor=SYSTEM, account=master, amount="10", expires_in="1Y", at=at).lot
    sooner = services.credits_grant(actor=SYSTEM, account=master, amount="10", expires_in="1M", at=at).lot
    txn = services.credits_remove(actor=SYSTEM, account=master, amount="12", comment="refund to card")
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert (sooner.remaining, later.remaining) == (D("0"), D("8"))
    assert refreshed(master).balance == D("8")
    assert txn.kind == "removal" and txn.memo == "refund to card"


def test_remove_more_than_positive_balance_is_refused():
    master = funded_account("10")
    with pytest.raises(InsufficientCredits):
        services.credits_remove(actor=SYSTEM, account=master, amount="10.000001")
    charge(master, quantity=20, traffic="transactional")
    with pytest.raises(InsufficientCredits):
        services.credits_remove(actor=SYSTEM, account=master, amount="1")
    assert refreshed(master).balance == D("-10")

"""Holds, on both money paths: reserve, charge against, capture, release, expire."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger import services
from ledger.errors import HoldNotActive, InsufficientCredits
from ledger.models import Hold, Transaction
from tests.factories import SYSTEM, funded_account, make_org, make_subaccount

from .helpers import D, charge, refreshed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


def test_hold_lowers_available_not_balance():
    master = funded_account("100")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="30", reference="campaign-9")
    master = refreshed(master)
    assert (master.balance, master.held, master.available()) == (D("100"), D("30"), D("70"))
    assert hold.status == "active" and hold.remaining == D("30")
    assert not Transaction.objects.filter(kind="charge").exists()


def test_hold_refused_unless_available_covers_it():
    master = funded_account("100")
    services.hold_create(actor=SYSTEM, account=master, amount="60")
    with pytest.raises(InsufficientCredits):
        services.hold_create(actor=SYSTEM, account=master, amount="40.000001")
    services.hold_create(actor=SYSTEM, account=master, amount="40")
    assert refreshed(master).available() == 0


def test_charge_against_hold_draws_hold_first_and_excess_checked_like_a_charge():
    master = funded_account("100")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="30")
    services.hold_create(actor=SYSTEM, account=master, amount="60")  # available now 10
    charge(master, quantity=25, hold=hold)
    hold.refresh_from_db()
    assert hold.remaining == D("5") and hold.status == "active"
    master = refreshed(master)
    assert (master.balance, master.held, master.available()) == (D("75"), D("65"), D("10"))
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=16, hold=hold)  # 5 from hold, 11 > 10 available
    txn = charge(master, quantity=15, hold=hold)  # 5 from hold + 10
    hold.refresh_from_db()
    assert hold.status == "captured" and hold.remaining == 0 and txn.hold_id == hold.pk
    master = refreshed(master)
    assert (master.balance, master.held, master.available()) == (D("60"), D("60"), D("0"))


def test_released_hold_frees_the_rest_and_cannot_be_used_again():
    master = funded_account("100")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="30")
    charge(master, quantity=10, hold=hold)
    released = services.hold_release(actor=SYSTEM, hold=hold)
    assert released.status == "released"
    master = refreshed(master)
    assert (master.balance, master.held, master.available()) == (D("90"), D("0"), D("90"))
    with pytest.raises(HoldNotActive):
        services.hold_release(actor=SYSTEM, hold=hold)
    with pytest.raises(HoldNotActive):
        charge(master, quantity=1, hold=hold)
    with pytest.raises(HoldNotActive):
        services.hold_capture(actor=SYSTEM, hold=Hold.objects.get(pk=hold.pk))


def test_expired_hold_cannot_be_captured_or_released():
    master = funded_account("100")
    at = timezone.now()
    hold = services.hold_create(actor=SYSTEM, account=master, amount="30", expires_in_seconds=3600, at=at)
    later = at + timedelta(hours=2)
    with pytest.raises(HoldNotActive):
        charge(master, quantity=1, hold=hold, at=later)
    with pytest.raises(HoldNotActive):
        services.hold_release(actor=SYSTEM, hold=hold, at=later)
    hold.refresh_from_db()
    assert hold.status == "expired"
    assert refreshed(master).held == 0
    assert services.holds_expire(at=later) == 0


def test_holds_expire_job_frees_held_credits():
    master = funded_account("100")
    at = timezone.now()
    services.hold_create(actor=SYSTEM, account=master, amount="30", expires_in_seconds=600, at=at)
    assert services.holds_expire(at=at + timedelta(minutes=5)) == 0
    assert services.holds_expire(at=at + timedelta(minutes=11)) == 1
    assert services.holds_expire(at=at + timedelta(minutes=12)) == 0
    assert refreshed(master).held == 0


def test_hold_capture_charges_a_fixed_amount():
    master = funded_account("100")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="30")
    txn = services.hold_capture(actor=SYSTEM, hold=hold, amount="12.5")
    assert txn.kind == "hold_capture" and txn.amount == D("12.5")
    master = refreshed(master)
    assert (master.balance, master.held) == (D("87.5"), D("17.5"))
    txn = services.hold_capture(actor=SYSTEM, hold=Hold.objects.get(pk=hold.pk))
    assert txn.amount == D("17.5")
    assert Hold.objects.get(pk=hold.pk).status == "captured"


def test_hold_on_shared_subaccount_reserves_master_funds():
    org = make_org()
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="50")
    shared = make_subaccount(org, "Shared", balance_mode="shared")
    hold = services.hold_create(actor=SYSTEM, account=shared, amount="20")
    assert hold.account_id == org.master_account.pk and hold.subaccount_id == shared.pk
    assert refreshed(org.master_account).held == D("20")
    charge(shared, quantity=20, hold=hold)
    assert refreshed(org.master_account).balance == D("30")

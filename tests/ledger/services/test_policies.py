"""Spending policies (docs/policies.md) on both money paths: single charges, charges against holds, holds, batches."""

from decimal import Decimal

import pytest

from ledger import services
from ledger.errors import InsufficientCredits, OrgBlocked
from ledger.models import Account, Hold, Transaction
from tests.factories import SYSTEM, funded_account, make_subaccount

from .helpers import D, charge, refreshed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


def with_policy(account: Account, policy: str, floor: str = "0") -> Account:
    services.organization_update(actor=SYSTEM, organization=account.organization, spending_policy=policy,
                                 spending_floor=floor)
    return Account.objects.select_related("organization").get(pk=account.pk)


def test_promotional_must_fit_is_the_default_and_lets_transactional_traffic_into_debt():
    master = funded_account("10")
    assert master.organization.spending_policy == "promotional_must_fit"
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=11)
    charge(master, quantity=25, traffic="transactional")
    assert refreshed(master).balance == D("-15")


def test_all_must_fit_refuses_transactional_traffic_beyond_available():
    master = with_policy(funded_account("10"), "all_must_fit")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="5")
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=16, traffic="transactional")
    charge(master, quantity=15, traffic="transactional")  # exactly available: balance + limit
    master = refreshed(master)
    assert (master.balance, master.available()) == (D("-5"), D("0"))
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=1, traffic="transactional")
    charge(master, quantity=1, unit_price="0", traffic="transactional")  # free usage still recorded


def test_all_must_fit_checks_the_excess_over_a_hold_for_every_traffic():
    master = with_policy(funded_account("10"), "all_must_fit")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="6")  # available 4
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=11, traffic="transactional", hold=hold)  # 6 from the hold, 5 > 4
    charge(master, quantity=10, traffic="transactional", hold=hold)
    master = refreshed(master)
    assert (master.balance, master.held, master.available()) == (D("0"), D("0"), D("0"))


def test_stop_when_depleted_blocks_every_charge_and_hold_at_zero_until_a_recharge():
    master = with_policy(funded_account("10"), "stop_when_depleted")
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=11)  # promotional must still fit
    charge(master, quantity=12, traffic="transactional")  # not blocked yet: it may go below zero
    assert refreshed(master).available() == D("-2")
    for traffic in ("promotional", "transactional"):
        with pytest.raises(OrgBlocked, match="blocked until it recharges"):
            charge(master, quantity=1, traffic=traffic)
    with pytest.raises(OrgBlocked):
        services.hold_create(actor=SYSTEM, account=master, amount="1")
    charge(master, quantity=3, unit_price="0", traffic="transactional")  # free usage spends nothing
    services.credits_grant(actor=SYSTEM, account=master, amount="5")  # available 3 again
    charge(master, quantity=3)
    with pytest.raises(OrgBlocked):
        charge(master, quantity=1, traffic="transactional")  # exactly zero is blocked too
    assert Transaction.objects.filter(kind="charge", account=master).count() == 3


def test_stop_when_depleted_with_a_floor_keeps_a_reserve():
    master = with_policy(funded_account("50"), "stop_when_depleted", floor="20")
    charge(master, quantity=30, traffic="transactional")  # available 20: at the floor now
    with pytest.raises(OrgBlocked):
        charge(master, quantity=1)
    with pytest.raises(OrgBlocked):
        services.hold_create(actor=SYSTEM, account=master, amount="1")
    assert refreshed(master).balance == D("20")


def test_a_blocked_org_still_spends_what_its_holds_reserved():
    master = with_policy(funded_account("10"), "stop_when_depleted")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="10")  # available 0: blocked
    with pytest.raises(OrgBlocked):
        charge(master, quantity=1)
    charge(master, quantity=4, hold=hold)  # wholly from the hold
    with pytest.raises(OrgBlocked):
        charge(master, quantity=7, hold=hold)  # 6 from the hold, 1 beyond it: blocked
    assert Hold.objects.get(pk=hold.pk).remaining == D("6")


def test_a_shared_subaccount_follows_its_org_policy():
    master = with_policy(funded_account("5"), "all_must_fit")
    shared = make_subaccount(master.organization, "Shared", balance_mode="shared")
    with pytest.raises(InsufficientCredits):
        charge(shared, quantity=6, traffic="transactional")


@pytest.mark.parametrize(("policy", "statuses"), [
    ("promotional_must_fit", [201, 201, 402, 201, 201]),
    ("all_must_fit", [201, 201, 402, 402, 201]),
    ("stop_when_depleted", [201, 201, 402, 201, 402]),
])
def test_batches_apply_the_policy_item_by_item(policy, statuses):
    master = with_policy(funded_account("10"), policy)
    items = [services.ChargeRequest(channel="sms", unit_price=price, traffic=traffic) for price, traffic in (
        ("4", "promotional"), ("4", "promotional"), ("4", "promotional"), ("3", "transactional"),
        ("0.5", "transactional"))]
    result = services.charge_batch(actor=SYSTEM, account=master, items=items)
    assert [item.status for item in result.items] == statuses
    blocked = [item.error.code for item in result.items if item.error is not None]
    assert blocked == {"promotional_must_fit": ["insufficient_credits"],
                       "all_must_fit": ["insufficient_credits"] * 2,
                       "stop_when_depleted": ["insufficient_credits", "org_blocked"]}[policy]
    assert refreshed(master).balance == Decimal(10) - result.total

"""Races on PostgreSQL with real threads, each on its own connection: no lost update, no overspend, no deadlock."""

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command

from ledger import services
from ledger.errors import HoldNotActive, InsufficientCredits, OrgBlocked
from ledger.models import Account, Hold, Transaction
from tests.concurrency import run_in_threads
from tests.factories import SYSTEM, funded_account, make_subaccount

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


@pytest.mark.usefixtures("money_path")
def test_exactly_k_promotional_charges_succeed_under_contention():
    k = 20
    master = funded_account(str(k))
    outcomes = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def attempt(_):
        account = Account.objects.select_related("organization").get(pk=master.pk)
        for _ in range(2 * k):
            try:
                services.charge_create(actor=SYSTEM, account=account, channel="sms", unit_price="1")
                key = "ok"
            except InsufficientCredits:
                key = "refused"
            with lock:
                outcomes[key] += 1

    errors = run_in_threads(8, attempt)
    assert errors == [None] * 8
    assert outcomes == {"ok": k, "refused": 8 * 2 * k - k}
    master.refresh_from_db()
    assert master.balance == 0
    assert Transaction.objects.filter(kind="charge").count() == k
    call_command("check_ledger")


@pytest.mark.usefixtures("money_path")
def test_concurrent_batches_and_charges_never_overspend_and_one_batch_key_has_one_effect():
    k = 30
    master = funded_account(str(k))
    one_unit = services.ChargeRequest(channel="sms", unit_price="1")

    def attempt(index):
        account = Account.objects.select_related("organization").get(pk=master.pk)
        if index < 3:  # the same batch under one key, three times at once
            result = services.charge_batch(actor=SYSTEM, account=account, items=[one_unit] * 5,
                                           idempotency_key="same-batch")
            return tuple(item.transaction.pk if item.transaction else item.error.code for item in result.items)
        for _ in range(4):
            services.charge_batch(actor=SYSTEM, account=account, items=[one_unit] * 4)
            try:
                services.charge_create(actor=SYSTEM, account=account, channel="sms", unit_price="1")
            except InsufficientCredits:
                pass
        return None

    results = run_in_threads(8, attempt)
    assert results[3:] == [None] * 5
    assert len(set(results[:3])) == 1 and len(results[0]) == 5, results[:3]
    master.refresh_from_db()
    assert master.balance == 0
    assert Transaction.objects.filter(kind="charge").count() == k
    call_command("check_ledger")


def test_opposite_transfers_in_parallel_do_not_deadlock():
    a = funded_account("1000")
    b = make_subaccount(a.organization, "B")
    services.credits_grant(actor=SYSTEM, account=b, amount="1000")

    def shuttle(index):
        source, target = (a, b) if index % 2 == 0 else (b, a)
        for _ in range(25):
            services.transfer_create(actor=SYSTEM, from_account=source, to_account=target, amount="3")

    errors = run_in_threads(4, shuttle)
    assert errors == [None] * 4
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.balance + b.balance == Decimal("2000")
    assert a.balance == Decimal("1000") and b.balance == Decimal("1000")
    assert Transaction.objects.filter(kind="transfer").count() == 100
    call_command("check_ledger")


@pytest.mark.usefixtures("money_path")
def test_concurrent_holds_never_exceed_available():
    master = funded_account("100")

    def place(_):
        account = Account.objects.select_related("organization").get(pk=master.pk)
        for _ in range(5):
            try:
                services.hold_create(actor=SYSTEM, account=account, amount="7")
            except InsufficientCredits:
                pass

    assert run_in_threads(6, place) == [None] * 6
    master.refresh_from_db()
    assert Hold.objects.count() == 14  # 14 x 7 = 98 <= 100 < 15 x 7
    assert master.held == Decimal("98") and master.available() == Decimal("2")
    call_command("check_ledger")


@pytest.mark.usefixtures("money_path")
def test_one_idempotency_key_one_effect_under_concurrency():
    master = funded_account("100")
    results = []

    def retry(_):
        account = Account.objects.select_related("organization").get(pk=master.pk)
        txn = services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=5, unit_price="1",
                                     idempotency_key="same-send")
        results.append(txn.pk)

    assert run_in_threads(6, retry) == [None] * 6
    assert len(set(results)) == 1
    master.refresh_from_db()
    assert master.balance == Decimal("95")


@pytest.mark.usefixtures("money_path")
def test_concurrent_charges_against_one_hold_draw_it_once():
    master = funded_account("10")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="6")  # available 4

    def spend(_):
        account = Account.objects.select_related("organization").get(pk=master.pk)
        try:
            services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=4, unit_price="1",
                                   hold=hold.pk)
        except HoldNotActive:
            return "refused"
        return "charged"

    outcomes = run_in_threads(6, spend)
    # the first charge takes 4 of the hold, the second its last 2 and 2 of available; then the hold is captured
    assert sorted(outcomes) == ["charged"] * 2 + ["refused"] * 4
    master.refresh_from_db()
    hold.refresh_from_db()
    assert (master.balance, master.held, master.available(), hold.status) == (2, 0, 2, "captured")
    call_command("check_ledger")


@pytest.mark.usefixtures("money_path")
@pytest.mark.parametrize(("policy", "charged"), [("promotional_must_fit", 6), ("all_must_fit", 2),
                                                 ("stop_when_depleted", 3)])
def test_concurrent_transactional_charges_at_the_boundary_of_each_policy(policy, charged):
    """Six transactional charges of 4 on 10 available: all pass, two fit, or three pass before the org is blocked."""
    master = funded_account("10")
    services.organization_update(actor=SYSTEM, organization=master.organization, spending_policy=policy)

    def spend(_):
        account = Account.objects.select_related("organization").get(pk=master.pk)
        try:
            services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=4, unit_price="1",
                                   traffic="transactional")
        except (InsufficientCredits, OrgBlocked) as error:
            return error.code
        return "charged"

    outcomes = run_in_threads(6, spend)
    refused = {"promotional_must_fit": None, "all_must_fit": "insufficient_credits",
               "stop_when_depleted": "org_blocked"}[policy]
    assert sorted(outcomes) == sorted(["charged"] * charged + [refused] * (6 - charged))
    master.refresh_from_db()
    assert master.balance == Decimal(10 - 4 * charged)
    call_command("check_ledger")

"""Charges and batches, on both money paths: pricing, available, draw order, shared subaccounts, batches."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledger import services
from ledger.errors import (
    CreditManagementDisabled,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidOperation,
)
from ledger.models import Account, CreditLot, Hold, Transaction
from tests.factories import SYSTEM, funded_account, make_org, make_subaccount

from .helpers import D, charge, refreshed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


def test_charge_amount_is_unit_price_times_quantity():
    master = funded_account("100")
    txn = charge(master, quantity=3, unit_price="0.333333")
    assert (txn.amount, txn.unit_price, txn.quantity) == (D("0.999999"), D("0.333333"), 3)
    assert refreshed(master).balance == D("99.000001")
    with pytest.raises(InvalidOperation):
        charge(master, unit_price="0.0000015")  # prices have at most 6 decimal places
    assert services.charge_amount(D("0.0000015"), 3) == D("0.000005")  # half-up rounding


def test_promotional_charge_refused_unless_available_covers_it():
    master = funded_account("10")
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=11)
    assert refreshed(master).balance == D("10")
    charge(master, quantity=10)
    assert refreshed(master).balance == D("0")


def test_promotional_charge_may_use_the_credit_limit():
    master = funded_account("10")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="5")
    charge(master, quantity=15)
    master = refreshed(master)
    assert master.balance == D("-5") and master.available() == D("0")
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=1, unit_price="0.000001")


def test_transactional_charge_goes_below_the_limit():
    master = funded_account("10")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="5")
    txn = charge(master, quantity=100, traffic="transactional")
    master = refreshed(master)
    assert master.balance == D("-90")
    assert master.available() == D("-85")
    assert txn.traffic == "transactional"


def test_draw_order_soonest_expiry_first_never_last_older_first_on_ties():
    master = funded_account("0")
    at = timezone.now()
    never = services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="never", at=at).lot
    year_old = services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="1Y",
                                      at=at - timedelta(days=1)).lot
    month = services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="1M", at=at).lot
    year_new = services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="1Y",
                                      at=at - timedelta(days=1)).lot
    order = []
    for _ in range(4):
        charge(master, quantity=5)
        remaining = {lot.pk: lot.remaining for lot in CreditLot.objects.filter(account=master)}
        order.append([pk for pk, r in remaining.items() if r == 0])
    emptied = []
    for step in order:
        emptied.extend(pk for pk in step if pk not in emptied)
    assert emptied == [month.pk, year_old.pk, year_new.pk, never.pk]


def test_uncovered_part_of_transactional_charge_becomes_debt_with_empty_lots():
    master = funded_account("3")
    charge(master, quantity=5, traffic="transactional")
    assert refreshed(master).balance == D("-2")
    assert CreditLot.objects.get(account=master).remaining == 0


def test_shared_subaccount_charge_debits_master_and_is_attributed():
    org = make_org()
    master = org.master_account
    services.credits_grant(actor=SYSTEM, account=master, amount="50")
    shared = make_subaccount(org, "Marketing", balance_mode="shared")
    txn = charge(shared, quantity=7, reference="camp-1")
    assert refreshed(master).balance == D("43")
    shared = refreshed(shared)
    assert shared.balance == 0 and not shared.postings.exists()
    assert txn.account_id == master.pk and txn.subaccount_id == shared.pk
    assert txn.funding_account.pk == master.pk


def test_own_subaccount_charges_its_own_funds():
    org = make_org()
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="50")
    own = make_subaccount(org, "Sales", balance_mode="own")
    with pytest.raises(InsufficientCredits):
        charge(own, quantity=1)
    assert refreshed(org.master_account).balance == D("50")


def test_charge_refused_when_credit_management_disabled():
    master = funded_account("50")
    services.organization_update(actor=SYSTEM, organization=master.organization, credit_management_enabled=False)
    master = Account.objects.get(pk=master.pk)
    with pytest.raises(CreditManagementDisabled):
        charge(master)
    with pytest.raises(CreditManagementDisabled):
        services.hold_create(actor=SYSTEM, account=master, amount="1")


def test_charge_validates_traffic_and_quantity():
    master = funded_account("50")
    with pytest.raises(InvalidOperation):
        charge(master, traffic="bulk")
    with pytest.raises(InvalidOperation):
        charge(master, quantity=0)


def test_charge_skips_expired_lots_and_expires_them():
    master = funded_account("0")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    old = services.credits_grant(actor=SYSTEM, account=master, amount="10", expires_in="1M", at=at).lot
    services.credits_grant(actor=SYSTEM, account=master, amount="10", expires_in="1Y", at=at)
    charge(master, quantity=4, at=at + timedelta(days=40))
    old.refresh_from_db()
    assert old.remaining == 0
    assert Transaction.objects.filter(kind="expiry", lot=old, amount=10).count() == 1
    assert refreshed(master).balance == D("6")


def test_free_usage_is_recorded_with_zero_amount_and_balanced_postings():
    master = funded_account("10")
    txn = services.charge_create(actor=SYSTEM, account=master, channel="whatsapp", country="IN", category="service",
                                 quantity=4, unit_price="0")
    assert txn.amount == 0 and txn.category == "service" and txn.quantity == 4
    assert [p.amount for p in txn.postings.order_by("pk")] == [0, 0]
    assert txn.postings.get(account=master).balance_after == D("10")
    assert refreshed(master).balance == D("10")


def test_batch_charges_in_order_and_reports_each_item():
    master = funded_account("10")
    items = [services.ChargeRequest(channel="sms", unit_price="4", quantity=1) for _ in range(3)]
    items.append(services.ChargeRequest(channel="sms", unit_price="1", quantity=1, traffic="transactional"))
    result = services.charge_batch(actor=SYSTEM, account=master, items=items)
    assert [item.status for item in result.items] == [201, 201, 402, 201]
    assert result.total == D("9")
    assert refreshed(master).balance == D("1")
    balances = [i.transaction.postings.get(account=master).balance_after for i in result.items if i.transaction]
    assert balances == [D("6"), D("2"), D("1")]


def test_atomic_batch_charges_all_or_none():
    master = funded_account("10")
    items = [services.ChargeRequest(channel="sms", unit_price="4") for _ in range(3)]
    with pytest.raises(InsufficientCredits):
        services.charge_batch(actor=SYSTEM, account=master, items=items, atomic=True)
    assert refreshed(master).balance == D("10")
    assert not Transaction.objects.filter(kind="charge").exists()


def test_batch_is_idempotent():
    master = funded_account("10")
    items = [services.ChargeRequest(channel="sms", unit_price="1") for _ in range(3)]
    first = services.charge_batch(actor=SYSTEM, account=master, items=items, idempotency_key="b1")
    again = services.charge_batch(actor=SYSTEM, account=master, items=items, idempotency_key="b1")
    assert [i.transaction.pk for i in again.items] == [i.transaction.pk for i in first.items]
    assert refreshed(master).balance == D("7")


def test_batch_replay_returns_the_first_result_and_refuses_another_request_under_the_same_key():
    master = funded_account("10")
    items = [services.ChargeRequest(channel="sms", unit_price="1"), services.ChargeRequest(channel="sms", unit_price="50"),
             services.ChargeRequest(channel="sms", unit_price="2", traffic="bogus")]
    first = services.charge_batch(actor=SYSTEM, account=master, items=items, idempotency_key="b2")
    again = services.charge_batch(actor=SYSTEM, account=master, items=items, idempotency_key="b2")
    assert not first.replayed and again.replayed
    assert [item.status for item in again.items] == [item.status for item in first.items] == [201, 402, 400]
    assert again.items[0].transaction.pk == first.items[0].transaction.pk
    assert [item.error.as_dict() for item in again.items[1:]] == [item.error.as_dict() for item in first.items[1:]]
    with pytest.raises(IdempotencyConflict):
        services.charge_batch(actor=SYSTEM, account=master, items=items[:1], idempotency_key="b2")
    with pytest.raises(IdempotencyConflict):
        services.charge_batch(actor=SYSTEM, account=master, items=items[:2], atomic=True, idempotency_key="b2")
    assert refreshed(master).balance == D("9")
    assert Transaction.objects.filter(kind="charge").count() == 1


def test_a_refused_atomic_batch_leaves_its_key_unused():
    master = funded_account("10")
    items = [services.ChargeRequest(channel="sms", unit_price="4") for _ in range(3)]
    with pytest.raises(InsufficientCredits):
        services.charge_batch(actor=SYSTEM, account=master, items=items, atomic=True, idempotency_key="b3")
    result = services.charge_batch(actor=SYSTEM, account=master, items=items[:2], atomic=True, idempotency_key="b3")
    assert not result.replayed and result.total == D("8")
    assert refreshed(master).balance == D("2")


def test_batch_items_draw_their_holds_first_in_order():
    master = funded_account("10")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="5")
    gone = services.hold_create(actor=SYSTEM, account=master, amount="1")
    services.hold_release(actor=SYSTEM, hold=gone)
    other = services.hold_create(actor=SYSTEM, account=funded_account("10", name="Other").organization.master_account,
                                 amount="1")
    items = [services.ChargeRequest(channel="sms", unit_price="3", hold=hold.pk),   # 3 of the hold's 5
             services.ChargeRequest(channel="sms", unit_price="9", hold=str(hold.pk)),  # 2 from it, 7 more > 5
             services.ChargeRequest(channel="sms", unit_price="4", hold=hold),   # 2 from it, 2 from available
             services.ChargeRequest(channel="sms", unit_price="1", hold=hold.pk),  # captured by now
             services.ChargeRequest(channel="sms", unit_price="1", hold=gone.pk),
             services.ChargeRequest(channel="sms", unit_price="1", hold=other.pk),
             services.ChargeRequest(channel="sms", unit_price="1", hold="not-a-hold"),
             services.ChargeRequest(channel="sms", unit_price="1", hold="")]
    result = services.charge_batch(actor=SYSTEM, account=master, items=items)
    assert [item.status for item in result.items] == [201, 402, 201, 409, 409, 400, 400, 201]
    assert result.items[1].error.detail == ("The charge of ₹9.00 needs ₹7.00 more than the hold; "
                                            "₹5.00 is available.")
    assert result.items[3].error.detail == f"Hold {hold.pk} is captured."
    assert result.items[4].error.detail == f"Hold {gone.pk} is released."
    assert [item.transaction.hold_id for item in result.items if item.transaction] == [hold.pk, hold.pk, None]
    hold.refresh_from_db()
    assert (hold.remaining, hold.status) == (D("0"), "captured")
    master = refreshed(master)
    assert (master.balance, master.held) == (D("2"), D("0"))
    with pytest.raises(HoldNotActive):
        services.charge_batch(actor=SYSTEM, account=master, items=items[:1], atomic=True)


def test_a_batch_is_one_call_of_ledger_charge_batch_on_the_database_path(money_path):
    master = funded_account("10")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="2")
    items = [services.ChargeRequest(channel="sms", unit_price="1", hold=hold.pk),
             services.ChargeRequest(channel="sms", unit_price="1", traffic="transactional")]
    with CaptureQueriesContext(connection) as queries:
        result = services.charge_batch(actor=SYSTEM, account=master, items=items, idempotency_key="one")
    assert [item.status for item in result.items] == [201, 201]
    calls = sum("ledger_charge_batch(" in query["sql"] for query in queries.captured_queries)
    assert calls == (1 if money_path == "database" and connection.vendor == "postgresql" else 0)
    if calls:  # the lock, the key's claim and every row are the function's; then the result is kept on the key
        others = [query["sql"] for query in queries.captured_queries
                  if "ledger_charge_batch(" not in query["sql"] and "ledger_systemaccount" not in query["sql"]]
        assert not [sql for sql in others if "FOR UPDATE" in sql or "INSERT" in sql], others


def test_batch_size_bounds():
    master = funded_account("10")
    with pytest.raises(InvalidOperation):
        services.charge_batch(actor=SYSTEM, account=master, items=[])
    with pytest.raises(InvalidOperation):
        services.charge_batch(actor=SYSTEM, account=master,
                              items=[services.ChargeRequest(channel="sms", unit_price="0")] * 1001)


def test_the_setting_picks_the_implementation(money_path):
    master = funded_account("10")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="2")
    with CaptureQueriesContext(connection) as queries:
        charge(master, quantity=1)
        charge(master, quantity=1, hold=hold)
        services.hold_capture(actor=SYSTEM, hold=Hold.objects.get(pk=hold.pk))
    calls = sum("ledger_charge(" in query["sql"] for query in queries.captured_queries)
    assert calls == (3 if money_path == "database" and connection.vendor == "postgresql" else 0)
    assert services.uses_charge_function() == (calls == 3)

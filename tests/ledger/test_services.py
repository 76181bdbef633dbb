"""One test per rule of the operations table in domain.md, through ledger.services."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger import services
from ledger.errors import (
    CreditManagementDisabled,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidOperation,
    TransferNotAllowed,
)
from ledger.invariants import check_invariants
from ledger.models import Account, CreditLot, Hold, Posting, SystemAccount, Transaction
from tests.factories import SYSTEM, funded_account, make_org, make_subaccount

pytestmark = pytest.mark.django_db

D = Decimal


def refreshed(account: Account) -> Account:
    account.refresh_from_db()
    return account


def charge(account, quantity=1, unit_price="1", traffic="promotional", **kwargs):
    return services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=quantity,
                                  unit_price=unit_price, traffic=traffic, **kwargs)


@pytest.fixture(autouse=True)
def _sound_ledger_after_each_test():
    yield
    assert check_invariants() == []


# --- add credits ---------------------------------------------------------------------------------


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


# --- remove credits -------------------------------------------------------------------------------


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


# --- charges --------------------------------------------------------------------------------------


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


# --- holds ----------------------------------------------------------------------------------------


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


# --- transfers ------------------------------------------------------------------------------------


def test_transfer_moves_credit_and_keeps_expiry():
    org = make_org()
    master = org.master_account
    lot = services.credits_grant(actor=SYSTEM, account=master, amount="50", expires_in="3M").lot
    team = make_subaccount(org, "Team")
    txn = services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="20", comment="Q4")
    assert (refreshed(master).balance, refreshed(team).balance) == (D("30"), D("20"))
    moved = CreditLot.objects.get(account=team)
    assert moved.expires_at == lot.expires_at and moved.source == "transfer" and moved.transferred_from_id == lot.pk
    postings = {p.account_id: p for p in txn.postings.all()}
    assert postings[master.pk].amount == D("-20") and postings[team.pk].amount == D("20")
    assert postings[team.pk].balance_after == D("20")


def test_transfer_repays_receiver_debt_first():
    org = make_org()
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="50")
    team = make_subaccount(org, "Team")
    charge(team, quantity=5, traffic="transactional")
    services.transfer_create(actor=SYSTEM, from_account=org.master_account, to_account=team, amount="20")
    assert refreshed(team).balance == D("15")
    assert CreditLot.objects.get(account=team).remaining == D("15")


def test_transfer_limited_to_positive_balance_and_available():
    org = make_org()
    master = org.master_account
    services.credits_grant(actor=SYSTEM, account=master, amount="50")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="100")
    team = make_subaccount(org, "Team")
    with pytest.raises(InsufficientCredits):
        services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="51")
    services.hold_create(actor=SYSTEM, account=master, amount="130")  # available 20
    with pytest.raises(InsufficientCredits):
        services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="21")
    services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="20")


def test_transfer_not_allowed_across_orgs_or_with_shared_accounts():
    org = make_org("A")
    other = make_org("B")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="50")
    shared = make_subaccount(org, "Shared", balance_mode="shared")
    with pytest.raises(TransferNotAllowed):
        services.transfer_create(actor=SYSTEM, from_account=org.master_account, to_account=other.master_account,
                                 amount="1")
    with pytest.raises(TransferNotAllowed):
        services.transfer_create(actor=SYSTEM, from_account=org.master_account, to_account=shared, amount="1")
    with pytest.raises(TransferNotAllowed):
        services.transfer_create(actor=SYSTEM, from_account=shared, to_account=org.master_account, amount="1")
    assert refreshed(org.master_account).balance == D("50")


# --- expiry ---------------------------------------------------------------------------------------


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


# --- credit limits --------------------------------------------------------------------------------


def test_temporary_limit_falls_back_to_permanent():
    master = funded_account("0")
    at = timezone.now()
    services.credit_limit_set(actor=SYSTEM, account=master, amount="100", at=at)
    services.credit_limit_set(actor=SYSTEM, account=master, amount="500", temporary_days=3, at=at)
    master = refreshed(master)
    assert master.effective_credit_limit(at) == D("500")
    assert master.credit_limit_expires_at(at) == at + timedelta(days=3)
    assert master.effective_credit_limit(at + timedelta(days=3, seconds=1)) == D("100")
    assert services.credit_limits_expire(at=at + timedelta(days=1)) == 0
    assert services.credit_limits_expire(at=at + timedelta(days=4)) == 1
    master = refreshed(master)
    assert master.temporary_credit_limit is None and master.effective_credit_limit() == D("100")
    assert master.credit_limit_changes.count() == 3


def test_postpaid_requires_a_credit_limit():
    with pytest.raises(InvalidOperation):
        make_org(payment_scheme="postpaid", credit_limit="0")
    org = make_org(payment_scheme="postpaid", credit_limit="1000")
    with pytest.raises(InvalidOperation):
        services.credit_limit_set(actor=SYSTEM, account=org.master_account, amount="0")
    prepaid = make_org("Prepaid")
    with pytest.raises(InvalidOperation):
        services.organization_update(actor=SYSTEM, organization=prepaid, payment_scheme="postpaid")


def test_postpaid_month_close_invoices_usage_and_resets_balance():
    org = make_org(payment_scheme="postpaid", credit_limit="1000", timezone_name="Asia/Tokyo")
    master = org.master_account
    charge(master, quantity=300, at=datetime(2026, 10, 20, tzinfo=UTC))
    # 1 Nov 00:30 in Tokyo is 31 Oct 15:30 UTC: October is closed although UTC is still in October.
    close_at = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)
    invoices = services.postpaid_month_close(organization=org, at=close_at)
    assert [(i.kind, i.amount, i.period) for i in invoices] == [("invoice", D("300"), "2026-10")]
    assert refreshed(master).balance == 0 and refreshed(master).available() == D("1000")
    assert services.postpaid_month_close(organization=org, at=close_at + timedelta(hours=1)) == []
    assert Transaction.objects.filter(kind="invoice").count() == 1


# --- idempotency ----------------------------------------------------------------------------------


def test_idempotent_retry_returns_first_result_without_second_effect():
    master = funded_account("100")
    first = charge(master, quantity=10, idempotency_key="send-1")
    again = charge(master, quantity=10, idempotency_key="send-1")
    assert again.pk == first.pk and getattr(again, "replayed", False)
    assert refreshed(master).balance == D("90")
    assert Transaction.objects.filter(kind="charge").count() == 1


def test_same_key_with_different_request_is_refused():
    master = funded_account("100")
    charge(master, quantity=10, idempotency_key="send-1")
    with pytest.raises(IdempotencyConflict):
        charge(master, quantity=11, idempotency_key="send-1")
    with pytest.raises(IdempotencyConflict):
        services.hold_create(actor=SYSTEM, account=master, amount="1", idempotency_key="send-1")


def test_keys_are_scoped_per_caller():
    master = funded_account("100")
    charge(master, quantity=10, idempotency_key="k")
    services.charge_create(actor=services.Actor(service="otp-sender"), account=master, channel="sms", quantity=10,
                           unit_price="1", idempotency_key="k")
    assert refreshed(master).balance == D("80")


def test_failed_request_leaves_no_key_behind():
    master = funded_account("5")
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=10, idempotency_key="k")
    services.credits_grant(actor=SYSTEM, account=master, amount="10")
    charge(master, quantity=10, idempotency_key="k")
    assert refreshed(master).balance == D("5")


# --- batch ----------------------------------------------------------------------------------------


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


def test_batch_size_bounds():
    master = funded_account("10")
    with pytest.raises(InvalidOperation):
        services.charge_batch(actor=SYSTEM, account=master, items=[])
    with pytest.raises(InvalidOperation):
        services.charge_batch(actor=SYSTEM, account=master,
                              items=[services.ChargeRequest(channel="sms", unit_price="0")] * 1001)


def test_free_usage_is_recorded_with_zero_amount_and_balanced_postings():
    master = funded_account("10")
    txn = services.charge_create(actor=SYSTEM, account=master, channel="whatsapp", country="IN", category="service",
                                 quantity=4, unit_price="0")
    assert txn.amount == 0 and txn.category == "service" and txn.quantity == 4
    assert [p.amount for p in txn.postings.order_by("pk")] == [0, 0]
    assert txn.postings.get(account=master).balance_after == D("10")
    assert refreshed(master).balance == D("10")


def test_month_close_bills_only_usage_before_the_local_month_start():
    org = make_org(payment_scheme="postpaid", credit_limit="1000", timezone_name="UTC")
    master = org.master_account
    charge(master, quantity=100, at=datetime(2026, 10, 20, tzinfo=UTC))
    charge(master, quantity=30, at=datetime(2026, 11, 1, 0, 10, tzinfo=UTC))  # November usage
    invoices = services.postpaid_month_close(organization=org, at=datetime(2026, 11, 1, 0, 15, tzinfo=UTC))
    assert [(i.amount, i.period) for i in invoices] == [(D("100"), "2026-10")]
    assert refreshed(master).balance == D("-30")


@pytest.mark.parametrize("bad", ["1E+30", "-1E+30", "1e-30", "NaN", "Infinity", "", " ", "1,5"])
def test_amount_parsing_refuses_out_of_range_and_malformed_values(bad):
    with pytest.raises(InvalidOperation):
        services.to_amount(bad)

"""Per-account daily totals (ledger_accountdaytotal), kept by a trigger on the postings (issue 19).

Every writer (the charge function and the Python writer, holds, batches, expiry, transfers, removals)
leaves totals equal to the sums of the postings; a closed day never changes; check_ledger notices a
tampered row; the finance totals line and the reports read the same figures from the totals as from
the postings; a change of the org's timezone counts the days again.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Q, Sum

from ledger import daytotals, services
from ledger.finance import reports
from ledger.finance.selectors import LedgerScope, apply_entry_filters, entry_totals, scope_totals
from ledger.invariants import check_invariants
from ledger.models import AccountDayTotal, Posting
from ledger.selectors import TRANSFER_IN, TRANSFER_OUT
from tests.factories import SYSTEM, make_org, make_subaccount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres_only")]

ZERO = Decimal("0")
DAY1 = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)  # 10:30 in Kolkata
LATE = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 01:30 on the 11th in Kolkata: the next local day


def every_writer(org, at):
    """One of each kind of write on the org's accounts, at `at` (later ones a few minutes on)."""
    master = org.master_account
    sub = make_subaccount(org, "Team")
    shared = make_subaccount(org, "Campaigns", balance_mode="shared")
    services.credits_grant(actor=SYSTEM, account=master, amount="500", expires_in="1M", at=at)
    services.credits_grant(actor=SYSTEM, account=master, amount="7", expires_in="never", at=at)
    step = iter(range(1, 100))

    def later():
        return at + timedelta(minutes=next(step))

    services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1.5", quantity=2, country="IN",
                           at=later())
    services.charge_create(actor=SYSTEM, account=master, channel="whatsapp", category="service", unit_price="0",
                           quantity=3, at=later())
    services.charge_create(actor=SYSTEM, account=master, channel="whatsapp", category="marketing",
                           unit_price="0.8", quantity=5, at=later())
    services.charge_create(actor=SYSTEM, account=shared, channel="email", unit_price="0.1", quantity=4, at=later())
    hold = services.hold_create(actor=SYSTEM, account=master, amount="20", at=later())
    services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="2", quantity=3, hold=hold,
                           at=later())
    services.hold_release(actor=SYSTEM, hold=hold, at=later())
    items = [services.ChargeRequest(channel="sms", unit_price="0.25", quantity=1, country="US")] * 5
    services.charge_batch(actor=SYSTEM, account=master, items=items, at=later())
    services.transfer_create(actor=SYSTEM, from_account=master, to_account=sub, amount="30", at=later())
    services.credits_remove(actor=SYSTEM, account=master, amount="4", at=later())
    services.charge_create(actor=SYSTEM, account=sub, channel="xengage", unit_price="1", at=later())
    assert services.lots_expire(at=at + timedelta(days=40)) >= 1
    return master, sub, shared


def postings_by_account():
    return {row["account_id"]: (row["net"], row["entries"]) for row in
            Posting.objects.filter(account__isnull=False).values("account_id")
            .annotate(net=Sum("amount"), entries=Count("id"))}


def totals_by_account():
    return {row["account_id"]: (row["net"], row["entries"]) for row in
            AccountDayTotal.objects.values("account_id")
            .annotate(net=Sum("credit") + Sum("debit"), entries=Sum("credit_count") + Sum("debit_count"))}


def test_totals_equal_the_postings_after_every_writer(money_path):
    org = make_org(name="Totals", timezone_name="Asia/Kolkata")
    master, sub, _ = every_writer(org, DAY1)
    assert totals_by_account() == postings_by_account()
    assert daytotals.mismatches() == []
    assert check_invariants() == []
    # the grants of DAY1 and the expiry 40 local days later, each on its own local day
    expiry = AccountDayTotal.objects.get(account_id=master.pk, kind="expiry")
    assert expiry.day == (DAY1 + timedelta(days=40)).date() and expiry.credit == 0 and expiry.debit == Decimal("-451.35")
    whatsapp = AccountDayTotal.objects.filter(account_id=master.pk, kind="charge", channel="whatsapp")
    assert whatsapp.aggregate(q=Sum("quantity"), free=Sum("free_quantity")) == {"q": 8, "free": 3}
    assert AccountDayTotal.objects.filter(account_id=sub.pk, kind="transfer").get().credit == Decimal("30")


def test_a_posting_after_local_midnight_counts_on_the_next_local_day(money_path):
    org = make_org(name="Midnight", timezone_name="Asia/Kolkata")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="10", expires_in="never", at=DAY1)
    services.charge_create(actor=SYSTEM, account=org.master_account, channel="sms", unit_price="1", at=LATE)
    days = dict(AccountDayTotal.objects.values_list("kind", "day"))
    assert days == {"grant": datetime(2026, 3, 10).date(), "charge": datetime(2026, 3, 11).date()}


def test_a_closed_day_never_changes(money_path):
    org = make_org(name="Closed")
    master = org.master_account
    services.credits_grant(actor=SYSTEM, account=master, amount="100", expires_in="never", at=DAY1)
    services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1", at=DAY1)
    closed = list(AccountDayTotal.objects.filter(day=DAY1.date()).order_by("kind").values())
    for days in (1, 2, 2):
        services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1",
                               at=DAY1 + timedelta(days=days))
    services.charge_batch(actor=SYSTEM, account=master, at=DAY1 + timedelta(days=3),
                          items=[services.ChargeRequest(channel="sms", unit_price="1")] * 3)
    assert list(AccountDayTotal.objects.filter(day=DAY1.date()).order_by("kind").values()) == closed
    charges = AccountDayTotal.objects.filter(kind="charge").order_by("day")
    assert [(row.day.day, row.debit, row.debit_count) for row in charges] == [
        (10, Decimal("-1"), 1), (11, Decimal("-1"), 1), (12, Decimal("-2"), 2), (13, Decimal("-3"), 3)]


def test_check_ledger_finds_a_tampered_totals_row():
    org = make_org(name="Tampered")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="100", expires_in="never", at=DAY1)
    call_command("check_ledger")  # sound
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_accountdaytotal SET credit = credit + 1")
    problems = check_invariants()
    assert len(problems) == 1 and problems[0].startswith("invariant 5: daily totals of account")
    assert "101.000000/0.000000 over 1 entries but the postings sum to 100.000000/0.000000 over 1" in problems[0]
    with pytest.raises(CommandError):
        call_command("check_ledger")
    with connection.cursor() as cursor:  # a row no posting explains
        cursor.execute("UPDATE ledger_accountdaytotal SET credit = credit - 1")
        cursor.execute("INSERT INTO ledger_accountdaytotal SELECT organization_id, account_id, day + 1, kind, "
                       "channel, country, category, credit, credit_count, debit, debit_count, quantity, "
                       "free_quantity FROM ledger_accountdaytotal")
    assert [problem[:37] for problem in check_invariants()] == ["invariant 5: daily totals of account "]


def _filters(org, tz):
    first = datetime(2026, 3, 10, tzinfo=tz)
    return [
        {}, {"start": first}, {"end": first + timedelta(days=1)}, {"start": first, "end": first + timedelta(days=1)},
        {"kind": "charge"}, {"kind": "expiry"}, {"kind": TRANSFER_IN}, {"kind": TRANSFER_OUT}, {"kind": "grant"},
        {"channel": "whatsapp"}, {"kind": "charge", "channel": "sms", "start": first},
    ]


def test_the_totals_line_reads_the_same_from_totals_and_postings(money_path):
    org = make_org(name="Line", timezone_name="Asia/Kolkata")
    master, sub, shared = every_writer(org, DAY1)
    scopes = [LedgerScope(org), LedgerScope(org, master), LedgerScope(org, sub)]
    for scope in scopes:
        for values in _filters(org, org.tz):
            queryset = apply_entry_filters(scope, scope.postings(), **values)
            from_totals = scope_totals(scope, queryset, **values)
            assert from_totals == entry_totals(queryset), (scope, values)
            account_id = scope.account.pk if scope.account else None
            assert daytotals.entry_totals(org, account_id, **values) is not None
    # what the totals cannot say is summed over the postings
    assert daytotals.entry_totals(org, start=DAY1) is None  # not a local midnight
    for scope, values in ((LedgerScope(org, shared), {}), (LedgerScope(org), {"subaccount": sub})):
        queryset = apply_entry_filters(scope, scope.postings(), **values)
        assert scope_totals(scope, queryset, **values) == entry_totals(queryset)


def test_reports_read_the_same_from_totals_and_postings(money_path, monkeypatch):
    org = make_org(name="Reports", timezone_name="Asia/Kolkata")
    every_writer(org, DAY1)
    start = datetime(2026, 1, 1, tzinfo=org.tz)
    end = datetime(2026, 6, 1, tzinfo=org.tz)
    from_totals = (reports.usage_report(org, start, end), reports.whatsapp_conversations(org, start, end),
                   reports.credits_per_month(org, start, end))
    monkeypatch.setattr(daytotals, "usable", lambda: False)
    from_transactions = (reports.usage_report(org, start, end), reports.whatsapp_conversations(org, start, end),
                         reports.credits_per_month(org, start, end))
    assert from_totals == from_transactions
    usage, whatsapp, credits = from_totals
    assert usage["total"] == Decimal("3") + Decimal("4") + Decimal("0.4") + Decimal("6") + Decimal("1.25") + 1
    assert [(row["total"], row["free"], row["business_initiated"]) for row in whatsapp] == [(8, 3, 5)]
    assert [(row["granted"], row["removed"], row["expired"], row["expired_lots"]) for row in credits] == [
        (Decimal("507"), Decimal("4"), ZERO, 0), (ZERO, ZERO, Decimal("480.35"), 2)]  # the 1M lots of master and sub


def test_a_timezone_change_counts_the_days_again(money_path):
    org = make_org(name="Moving", timezone_name="UTC")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="10", expires_in="never", at=LATE)
    assert AccountDayTotal.objects.get().day == datetime(2026, 3, 10).date()
    services.organization_update(actor=SYSTEM, organization=org, timezone="Asia/Kolkata")
    assert AccountDayTotal.objects.get().day == datetime(2026, 3, 11).date()
    assert daytotals.mismatches() == []


def test_batch_and_expiry_on_many_accounts_in_one_statement(money_path):
    orgs = [make_org(name=f"Many {n}") for n in range(3)]
    for org in orgs:
        services.credits_grant(actor=SYSTEM, account=org.master_account, amount="5", expires_in="1M", at=DAY1)
    assert services.lots_expire(at=DAY1 + timedelta(days=45)) == 3
    assert AccountDayTotal.objects.filter(kind="expiry", debit=Decimal("-5"), debit_count=1).count() == 3
    assert daytotals.mismatches() == []
    assert not AccountDayTotal.objects.filter(~Q(organization_id__in=[org.pk for org in orgs])).exists()

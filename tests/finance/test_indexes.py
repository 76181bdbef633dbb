"""The indexes behind each ledger filter, checked with EXPLAIN on PostgreSQL (no sequential scan of postings)."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from ledger import services
from ledger.finance.selectors import LedgerScope, apply_entry_filters, entries_with_details
from tests.factories import make_org

SEQ_SCANS = ("Seq Scan on ledger_posting", "Seq Scan on ledger_transaction")


def page_plan(scope, **filters) -> str:
    queryset = entries_with_details(apply_entry_filters(scope, scope.postings(), **filters))
    return queryset.order_by(*scope.ordering())[:51].explain()


def filter_cases(book):
    start, end = (timezone.now() - timedelta(days=d) for d in (30, 1))
    return [
        {}, {"start": start, "end": end}, {"kind": "charge"}, {"kind": "transfer_in"}, {"kind": "grant"},
        {"channel": "sms"}, {"subaccount": book.shared}, {"subaccount": book.own},
        {"start": start, "kind": "charge", "channel": "whatsapp"},
    ]


def test_every_filter_has_an_index_path(book, postgres_only):
    """With sequential scans priced out, every page query of every scope still finds an index path."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    scopes = [LedgerScope(book.org, book.master), LedgerScope(book.org, book.own), LedgerScope(book.org),
              LedgerScope(book.org, book.shared)]
    for scope in scopes:
        for filters in filter_cases(book):
            if filters.get("subaccount") is not None and scope.account is not None and not scope.account.is_master:
                continue
            plan = page_plan(scope, **filters)
            assert not any(seq in plan for seq in SEQ_SCANS), (scope, filters, plan)
    plan = page_plan(LedgerScope(book.org, book.master))
    assert "posting_account_newest" in plan
    assert "txn_org_newest" in page_plan(LedgerScope(book.org))
    assert "txn_subaccount_newest" in page_plan(LedgerScope(book.org, book.shared))
    assert "txn_org_kind_newest" in page_plan(LedgerScope(book.org), kind="grant")
    assert "txn_org_channel_newest" in page_plan(LedgerScope(book.org), channel="sms")


def test_account_page_uses_the_index_on_real_statistics(db, postgres_only):
    """Several busy accounts, analysed: an account's page, a later page and a date range read the index."""
    accounts = []
    for name in ("One", "Two", "Three"):
        master = make_org(name=name).master_account
        services.credits_grant(actor=services.SYSTEM, account=master, amount="100000")
        items = [services.ChargeRequest(channel="sms", unit_price="0.01", traffic="transactional")] * 1000
        for _ in range(2):
            services.charge_batch(actor=services.SYSTEM, account=master, items=items)
        accounts.append(master)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_posting")
        cursor.execute("ANALYZE ledger_transaction")
    scope = LedgerScope(accounts[1].organization, accounts[1])
    newest = scope.postings().order_by(*scope.ordering())[1000]
    for queryset in (
        entries_with_details(scope.postings()).order_by(*scope.ordering())[:51],
        entries_with_details(scope.postings().filter(created_at__lte=newest.created_at, id__lt=newest.pk))
        .order_by(*scope.ordering())[:51],
        apply_entry_filters(scope, scope.postings(), start=newest.created_at).order_by(*scope.ordering())[:51],
    ):
        plan = queryset.explain()
        assert "Seq Scan on ledger_posting" not in plan, plan
        assert "posting_account_newest" in plan, plan

"""Scheduled jobs with a controlled clock: expiry (twice, in parallel), holds, limits, month close, purge, locks."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from alerts import jobs
from ledger import services
from ledger.models import Account, CreditLot, Hold, HoldStatus, IdempotencyRecord, Posting, Transaction
from tests.concurrency import run_in_threads
from tests.factories import SYSTEM, funded_account, make_org


def _lot(account):
    return CreditLot.objects.get(account=account)


def test_lots_expire_job_acts_at_expiry_and_twice_changes_nothing(db):
    account = funded_account("100", expires_in="1M", currency="INR", timezone_name="Asia/Kolkata")
    lot = _lot(account)

    before = jobs.run_job("lots_expire", lot.expires_at - timedelta(seconds=1))
    assert (before.count, before.skipped, before.error) == (0, False, "")
    assert Transaction.objects.filter(kind="expiry").count() == 0

    at = lot.expires_at + timedelta(minutes=5)
    assert jobs.run_job("lots_expire", at).count == 1
    account.refresh_from_db()
    lot.refresh_from_db()
    assert account.balance == Decimal("0")
    assert lot.remaining == Decimal("0")
    expiry = Transaction.objects.get(kind="expiry", lot=lot)
    assert expiry.amount == Decimal("100")
    assert expiry.created_at == at

    again = jobs.run_job("lots_expire", at + timedelta(minutes=15))
    assert again.count == 0
    account.refresh_from_db()
    assert account.balance == Decimal("0")
    assert Transaction.objects.filter(kind="expiry").count() == 1
    assert Posting.objects.filter(account=account).count() == 2  # the grant and the expiry


def _expired_accounts(n):
    accounts = []
    for i in range(n):
        org = make_org(name=f"Org {i}", currency="USD", timezone_name="UTC")
        services.credits_grant(actor=SYSTEM, account=org.master_account, amount="10", expires_in="1M")
        services.credits_grant(actor=SYSTEM, account=org.master_account, amount="5", expires_in="1M")
        accounts.append(org.master_account)
    return accounts


def _in_threads(target, count=2):
    outcomes = run_in_threads(count, lambda _index: target())
    return ([o for o in outcomes if not isinstance(o, Exception)],
            [o for o in outcomes if isinstance(o, Exception)])


def test_two_parallel_expiry_runs_make_one_expiry_transaction_per_lot(transactional_db, postgres_only):
    accounts = _expired_accounts(8)
    at = timezone.now() + timedelta(days=40)

    # The ledger service alone (no job lock): account row locks and the re-read of lots serialize the runs.
    results, errors = _in_threads(lambda: services.lots_expire(at=at))
    assert errors == []
    assert len(results) == 2 and sum(results) == 16  # each lot counted by exactly one run

    for account in accounts:
        account.refresh_from_db()
        assert account.balance == Decimal("0")
    lots = CreditLot.objects.filter(account__in=accounts)
    assert lots.count() == 16
    for lot in lots:
        assert Transaction.objects.filter(kind="expiry", lot=lot).count() == 1
        assert lot.remaining == Decimal("0")


def test_parallel_job_runs_take_turns_on_the_lock(transactional_db, postgres_only):
    accounts = _expired_accounts(3)
    at = timezone.now() + timedelta(days=40)
    holder_ready, release = threading.Event(), threading.Event()

    def hold_lock():
        with jobs.job_lock("lots_expire") as acquired:
            assert acquired
            holder_ready.set()
            release.wait(timeout=10)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert holder_ready.wait(timeout=10)
    try:
        skipped = jobs.run_job("lots_expire", at)
    finally:
        release.set()
        holder.join(timeout=10)
    assert skipped.skipped is True and skipped.count == 0
    assert Transaction.objects.filter(kind="expiry").count() == 0

    results, errors = _in_threads(lambda: jobs.run_job("lots_expire", at))
    assert errors == []
    assert sum(result.count for result in results) == 6
    assert Transaction.objects.filter(kind="expiry").count() == 6
    assert {account.pk for account in accounts} == set(
        Transaction.objects.filter(kind="expiry").values_list("account_id", flat=True))


def test_holds_expire_job_frees_held_credits(db):
    account = funded_account("100", currency="USD", timezone_name="UTC")
    hold = services.hold_create(actor=SYSTEM, account=account, amount="40", expires_in_seconds=3600)
    account.refresh_from_db()
    assert account.held == Decimal("40")

    assert jobs.run_job("holds_expire", hold.expires_at - timedelta(seconds=1)).count == 0
    assert jobs.run_job("holds_expire", hold.expires_at + timedelta(minutes=1)).count == 1
    assert jobs.run_job("holds_expire", hold.expires_at + timedelta(minutes=2)).count == 0
    hold.refresh_from_db()
    account.refresh_from_db()
    assert hold.status == HoldStatus.EXPIRED
    assert account.held == Decimal("0")
    assert account.available() == Decimal("100")
    assert Hold.objects.filter(status=HoldStatus.ACTIVE).count() == 0


def test_credit_limits_expire_job_restores_the_permanent_limit(db):
    org = make_org(currency="USD", timezone_name="UTC")
    account = org.master_account
    services.credit_limit_set(actor=SYSTEM, account=account, amount="50", temporary_days=3)
    account.refresh_from_db()
    expires_at = account.temporary_credit_limit_expires_at

    assert jobs.run_job("credit_limits_expire", expires_at - timedelta(minutes=1)).count == 0
    assert jobs.run_job("credit_limits_expire", expires_at + timedelta(minutes=1)).count == 1
    assert jobs.run_job("credit_limits_expire", expires_at + timedelta(minutes=2)).count == 0
    account.refresh_from_db()
    assert account.temporary_credit_limit is None
    assert account.effective_credit_limit(expires_at + timedelta(minutes=1)) == Decimal("0")


@pytest.fixture
def tokyo_postpaid():
    """A postpaid org in Asia/Tokyo (UTC+9) with 50 JPY of usage on 20 May 2025."""
    with time_machine.travel(datetime(2025, 5, 1, tzinfo=UTC), tick=False):
        org = make_org(name="Tokyo", currency="JPY", timezone_name="Asia/Tokyo", payment_scheme="postpaid",
                       credit_limit="1000")
    services.charge_create(actor=SYSTEM, account=org.master_account, channel="sms", quantity=5, unit_price="10",
                           at=datetime(2025, 5, 20, 3, 0, tzinfo=UTC))
    return org


def test_month_close_in_an_org_ahead_of_utc_acts_at_its_local_month_start(db, tokyo_postpaid):
    org = tokyo_postpaid
    master = Account.objects.get(pk=org.master_account.pk)
    assert master.balance == Decimal("-50")

    # 23:59 on 31 May in Tokyo (14:59 UTC): May has not ended there yet.
    assert jobs.run_job("postpaid_months_close", datetime(2025, 5, 31, 14, 59, tzinfo=UTC)).count == 0
    assert not Transaction.objects.filter(kind="invoice").exists()

    # 00:05 on 1 June in Tokyo is still 31 May in UTC: the month closes by the org's own clock.
    at = datetime(2025, 5, 31, 15, 5, tzinfo=UTC)
    result = jobs.run_job("postpaid_months_close", at)
    assert (result.count, result.error) == (1, "")
    invoice = Transaction.objects.get(kind="invoice")
    assert invoice.period == "2025-05"
    assert invoice.amount == Decimal("50")
    master.refresh_from_db()
    assert master.balance == Decimal("0")
    assert master.available(at) == Decimal("1000")

    # Every later run of the month finds it invoiced.
    assert jobs.run_job("postpaid_months_close", at + timedelta(minutes=15)).count == 0
    assert jobs.run_job("postpaid_months_close", datetime(2025, 6, 20, tzinfo=UTC)).count == 0
    assert Transaction.objects.filter(kind="invoice").count() == 1


def test_month_close_leaves_usage_of_the_new_month_alone(db):
    with time_machine.travel(datetime(2025, 6, 1, tzinfo=UTC), tick=False):
        org = make_org(name="New", currency="JPY", timezone_name="Asia/Tokyo", payment_scheme="postpaid",
                       credit_limit="1000")
    services.charge_create(actor=SYSTEM, account=org.master_account, channel="sms", quantity=1, unit_price="7",
                           at=datetime(2025, 6, 10, tzinfo=UTC))
    # Mid-June: May is not invoiced, but nothing was owed at the June month start.
    assert jobs.run_job("postpaid_months_close", datetime(2025, 6, 15, tzinfo=UTC)).count == 0
    assert not Transaction.objects.filter(kind="invoice").exists()


def test_idempotency_keys_purge_job_keeps_recent_keys(db, settings):
    settings.IDEMPOTENCY_KEY_RETENTION = timedelta(days=8)
    account = funded_account("0", currency="USD", timezone_name="UTC")
    with time_machine.travel(datetime(2025, 1, 1, tzinfo=UTC), tick=False):
        services.credits_grant(actor=SYSTEM, account=account, amount="1", idempotency_key="old")
    with time_machine.travel(datetime(2025, 1, 8, tzinfo=UTC), tick=False):
        services.credits_grant(actor=SYSTEM, account=account, amount="1", idempotency_key="recent")
    result = jobs.run_job("idempotency_keys_purge", datetime(2025, 1, 10, tzinfo=UTC))
    assert result.count == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def test_run_jobs_command_runs_every_job_as_of_an_instant(db):
    account = funded_account("30", expires_in="1M", currency="USD", timezone_name="UTC")
    lot = _lot(account)
    at = (lot.expires_at + timedelta(hours=1)).isoformat()
    from io import StringIO

    out = StringIO()
    call_command("run_jobs", "--at", at, stdout=out)
    lines = out.getvalue().splitlines()
    assert "lots_expire: 1" in lines
    assert {line.split(":")[0] for line in lines} == set(jobs.JOBS)
    account.refresh_from_db()
    assert account.balance == Decimal("0")

    out = StringIO()
    call_command("run_jobs", "--at", at, "--job", "lots_expire", stdout=out)
    assert out.getvalue().strip() == "lots_expire: 0"


def test_run_jobs_command_refuses_a_bad_instant(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an ISO-8601"):
        call_command("run_jobs", "--at", "tomorrow")


def test_one_failing_job_does_not_stop_the_others(db, monkeypatch):
    account = funded_account("30", expires_in="1M", currency="USD", timezone_name="UTC")
    at = _lot(account).expires_at + timedelta(hours=1)

    def boom(at):
        raise RuntimeError("holds table on fire")

    monkeypatch.setitem(jobs.JOBS, "holds_expire", boom)
    results = jobs.run_due_jobs(at=at, names=jobs.DUE_JOBS)
    assert results["holds_expire"].error == "RuntimeError: holds table on fire"
    assert results["lots_expire"].count == 1
    assert results["credit_limits_expire"].error == ""


def test_run_due_jobs_task_returns_a_summary(db):
    from alerts.tasks import run_due_jobs

    account = funded_account("30", expires_in="1M", currency="USD", timezone_name="UTC")
    at = _lot(account).expires_at + timedelta(hours=1)
    summary = run_due_jobs.delay(at=at.isoformat()).get()
    assert summary["lots_expire"] == {"count": 1, "skipped": False, "error": ""}
    assert "idempotency_keys_purge" not in summary

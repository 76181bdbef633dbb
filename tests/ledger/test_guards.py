"""The database itself guards the ledger: append-only rows, balanced transactions, CHECK constraints."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, InternalError, connection, transaction

from ledger import services
from ledger.models import Account, CreditLot, Posting, SystemAccount, Transaction
from tests.factories import SYSTEM, funded_account

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]

REFUSED = (IntegrityError, InternalError)


def test_raw_update_of_a_posting_fails():
    funded_account("10")
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_posting SET amount = amount * 2")
    assert sorted(Posting.objects.values_list("amount", flat=True)) == [Decimal("-10"), Decimal("10")]


def test_raw_delete_of_a_posting_or_transaction_fails():
    funded_account("10")
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_posting")
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_transaction SET memo = 'edited'")
    assert Posting.objects.count() == 2 and Transaction.objects.count() == 1


def test_unbalanced_transaction_is_refused_at_commit():
    master = funded_account("10")
    issued = SystemAccount.objects.get(code="issued", currency="INR")
    with pytest.raises(REFUSED, match="not balanced"), transaction.atomic():
        txn = Transaction.objects.create(organization=master.organization, account=master, kind="grant",
                                         currency="INR", amount=5)
        Posting.objects.create(transaction=txn, account=master, amount=5, balance_after=15)
        Posting.objects.create(transaction=txn, system_account=issued, amount=-4)
    assert Transaction.objects.count() == 1


def test_check_constraints_refuse_bad_rows():
    master = funded_account("10")
    lot = CreditLot.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLot.objects.filter(pk=lot.pk).update(remaining=lot.amount + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=master.pk).update(held=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transaction.objects.bulk_create([Transaction(organization=master.organization, account=master,
                                                     kind="gift", currency="INR", amount=1)])


def test_check_ledger_passes_on_a_sound_ledger_and_fails_on_a_corrupt_one(capsys):
    master = funded_account("10")
    services.charge_create(actor=SYSTEM, account=master, channel="sms", quantity=3, unit_price="1")
    call_command("check_ledger")
    assert "Ledger is sound" in capsys.readouterr().out
    Account.objects.filter(pk=master.pk).update(balance=100)  # a cache gone wrong, not a ledger row
    with pytest.raises(CommandError, match="violation"):
        call_command("check_ledger")
    assert "invariant 2" in capsys.readouterr().err


def test_a_transaction_without_postings_is_refused_at_commit():
    master = funded_account("10")
    with pytest.raises(REFUSED, match="not balanced"), transaction.atomic():
        Transaction.objects.create(organization=master.organization, account=master, kind="grant", currency="INR",
                                   amount=5)
    assert Transaction.objects.count() == 1


def test_a_posting_added_to_a_committed_transaction_is_refused():
    master = funded_account("10")
    txn = Transaction.objects.get()
    with pytest.raises(REFUSED, match="not balanced"), transaction.atomic():
        Posting.objects.create(transaction=txn, account=master, amount=1, balance_after=11)
    assert txn.postings.count() == 2


def test_expiry_is_set_based_and_writes_balanced_rows():
    from datetime import timedelta

    from django.utils import timezone

    master = funded_account("0")
    past = timezone.now() - timedelta(days=400)
    for amount in ("3", "4", "5"):
        services.credits_grant(actor=SYSTEM, account=master, amount=amount, expires_in="1M", at=past)
    services.credits_grant(actor=SYSTEM, account=master, amount="7", expires_in="never", at=past)
    assert services.lots_expire() == 3
    assert services.lots_expire() == 0
    expiries = Transaction.objects.filter(kind="expiry").order_by("pk")
    assert [t.amount for t in expiries] == [3, 4, 5]
    assert [t.postings.get(account=master).balance_after for t in expiries] == [16, 12, 7]
    master.refresh_from_db()
    assert master.balance == 7
    call_command("check_ledger")


def test_expiry_in_chunks_on_two_workers_expires_each_lot_once():
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_org

    past = timezone.now() - timedelta(days=400)
    accounts = []
    for index in range(7):
        master = make_org(name=f"Org {index}").master_account
        for amount in ("2", "3"):
            services.credits_grant(actor=SYSTEM, account=master, amount=amount, expires_in="1M", at=past)
        accounts.append(master)
    assert services.lots_expire(chunk=2, workers=2) == 14
    assert services.lots_expire(chunk=2, workers=2) == 0
    assert Transaction.objects.filter(kind="expiry").count() == 14
    assert Transaction.objects.filter(kind="expiry").values("lot").distinct().count() == 14
    assert {a.balance for a in Account.objects.filter(pk__in=[a.pk for a in accounts])} == {0}
    call_command("check_ledger")

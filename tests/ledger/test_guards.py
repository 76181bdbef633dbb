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

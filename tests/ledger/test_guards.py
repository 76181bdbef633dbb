"""The database itself guards the ledger: append-only rows, balanced transactions, CHECK constraints."""

import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, InternalError, connection, transaction
from django.utils import timezone

from ledger import services
from ledger.checks import check_ledger_role, ledger_role_problems
from ledger.models import Account, CreditLot, Posting, SystemAccount, Transaction
from tests.factories import SYSTEM, funded_account, make_org

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


def test_postings_added_later_to_a_committed_transaction_pass_only_when_they_balance_among_themselves():
    """The check sums a statement's new postings (older ones were balanced by their own statement)."""
    master = funded_account("10")
    txn = Transaction.objects.get()
    issued = SystemAccount.objects.get(code="issued", currency="INR")
    with transaction.atomic():
        Posting.objects.bulk_create([Posting(transaction=txn, account=master, amount=2, balance_after=12),
                                     Posting(transaction=txn, system_account=issued, amount=-2)])
    assert txn.postings.count() == 4
    with pytest.raises(REFUSED, match="not balanced: 2 postings summing to 1"), transaction.atomic():
        Posting.objects.bulk_create([Posting(transaction=txn, account=master, amount=2, balance_after=14),
                                     Posting(transaction=txn, system_account=issued, amount=-1)])
    assert txn.postings.count() == 4


def test_a_lone_posting_that_balances_nothing_is_refused_beside_a_sound_transaction_in_one_statement():
    """Each transaction of a statement is checked: a sound one first does not hide a bad one after it."""
    master = funded_account("10")
    old = Transaction.objects.get()
    sound, issued = _grant_rows(master)
    with pytest.raises(REFUSED, match=f"transaction {old.pk} is not balanced"), transaction.atomic():
        sound.save()
        Posting.objects.bulk_create([Posting(transaction=sound, account=master, amount=5, balance_after=15),
                                     Posting(transaction=sound, system_account=issued, amount=-5),
                                     Posting(transaction=old, account=master, amount=1, balance_after=16)])
    assert Posting.objects.count() == 2


def test_expiry_is_set_based_and_writes_balanced_rows():
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


# --- references: checked once per INSERT statement (ledger/sql/0012_ledger_references.*.sql) -----------


def _grant_rows(master, lot=None, **overrides):
    """An unsaved grant transaction on `master`, and the system account its postings balance against."""
    issued = services.system_account(SystemAccount.Code.ISSUED, master.organization.currency)
    txn = Transaction(organization_id=master.organization_id, account_id=master.pk, kind="grant",
                      currency=master.organization.currency, amount=5, lot=lot)
    for field, value in overrides.items():
        setattr(txn, field, value)
    return txn, issued


def test_postings_of_a_missing_transaction_are_refused():
    master = funded_account("10")
    issued = SystemAccount.objects.get(code="issued", currency="INR")
    with pytest.raises(IntegrityError, match="transaction 987654, which does not exist"), transaction.atomic():
        Posting.objects.bulk_create([Posting(transaction_id=987654, account=master, amount=5, balance_after=15),
                                     Posting(transaction_id=987654, system_account=issued, amount=-5)])
    assert Posting.objects.count() == 2


@pytest.mark.parametrize("missing", ["account", "system_account"])
def test_a_posting_on_a_missing_account_is_refused(missing):
    master = funded_account("10")
    txn, issued = _grant_rows(master)
    account_id = uuid.uuid4() if missing == "account" else master.pk
    system_account_id = 987654 if missing == "system_account" else issued.pk
    with pytest.raises(IntegrityError, match="which does not exist"), transaction.atomic():
        txn.save()
        Posting.objects.bulk_create([Posting(transaction=txn, account_id=account_id, amount=5, balance_after=15),
                                     Posting(transaction=txn, system_account_id=system_account_id, amount=-5)])
    assert Transaction.objects.count() == 1


def test_a_transaction_on_another_organizations_account_is_refused():
    master = funded_account("10")
    other = make_org(name="Other")
    txn, _ = _grant_rows(master, organization_id=other.pk)
    with pytest.raises(IntegrityError, match="not an account of organization"), transaction.atomic():
        txn.save()
    txn, _ = _grant_rows(master, lot_id=987654)
    with pytest.raises(IntegrityError, match="credit lot 987654, which does not exist"), transaction.atomic():
        txn.save()
    assert Transaction.objects.count() == 1


def test_a_posting_on_another_organizations_account_is_refused():
    """A transfer-like transaction of org A whose receiving posting lands on org B's account (issue 13)."""
    master = funded_account("10")
    other = make_org(name="Other").master_account
    txn = Transaction(organization=master.organization, account=master, kind="transfer", currency="INR", amount=5)
    with pytest.raises(IntegrityError, match="posting on an account of another organization"), \
            transaction.atomic():
        txn.save()
        Posting.objects.bulk_create([Posting(transaction=txn, account=master, amount=-5, balance_after=5),
                                     Posting(transaction=txn, account=other, amount=5, balance_after=5)])
    assert Transaction.objects.count() == 1


LEDGER_TABLES = ["ledger_organization", "ledger_account", "ledger_systemaccount", "ledger_creditlot",
                 "ledger_transaction", "ledger_posting", "ledger_hold", "ledger_creditlimitchange",
                 "ledger_historicalorganization"]


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_truncate_of_a_ledger_table_is_refused(table):
    funded_account("10")
    with pytest.raises(REFUSED, match=f"TRUNCATE of {table} refused"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert Posting.objects.count() == 2 and Transaction.objects.count() == 1


def test_the_role_check_flags_a_role_that_could_switch_the_guards_off():
    """The suite's role is a superuser owning the tables: flagged; a role with plain table rights: not."""
    assert [error.id for error in check_ledger_role(None, databases=["default"])] == ["ledger.E001"]
    assert "superuser" in ledger_role_problems(connection)[0]
    role = f"ledger_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {role}")
            assert ledger_role_problems(connection) == []
            assert check_ledger_role(None, databases=["default"]) == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP ROLE {role}")


def test_rows_that_ledger_rows_refer_to_cannot_be_deleted():
    master = funded_account("10")
    for table, pk in [("ledger_creditlot", CreditLot.objects.get().pk), ("ledger_account", master.pk),
                      ("ledger_organization", master.organization_id),
                      ("ledger_systemaccount", SystemAccount.objects.get(code="issued").pk)]:
        with pytest.raises(IntegrityError, match=f"ledger rows refer to {table}"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed table names
    unused = make_org(name="Unused")  # no ledger rows yet: deleting it is allowed
    Account.objects.filter(organization=unused).delete()
    unused.delete()
    assert Account.objects.filter(pk=master.pk).exists() and CreditLot.objects.count() == 1


def test_a_lot_whose_only_ledger_row_is_its_expiry_cannot_be_deleted():
    """txn_lot leaves expiry entries to one_expiry_per_lot: the delete guard looks in both, by index."""
    master = funded_account("0")
    past = timezone.now() - timedelta(days=60)
    lot = CreditLot.objects.create(account=master, amount=5, remaining=5, granted_at=past,
                                   expires_at=past + timedelta(days=30), source="grant")
    Account.objects.filter(pk=master.pk).update(balance=5)
    assert services.lots_expire(account_ids=[master.pk]) == 1
    assert list(Transaction.objects.filter(lot=lot).values_list("kind", flat=True)) == ["expiry"]
    with pytest.raises(IntegrityError, match="ledger rows refer to ledger_creditlot"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_creditlot WHERE id = %s", [lot.pk])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as the guard function plans
        plans = []
        for kind_test in ("kind <> 'expiry'", "kind = 'expiry'"):
            cursor.execute(f"EXPLAIN SELECT FROM ledger_transaction WHERE lot_id = %s AND {kind_test}",  # noqa: S608
                           [lot.pk])
            plans.append(" ".join(row[0] for row in cursor.fetchall()))
    assert "txn_lot" in plans[0] and "one_expiry_per_lot" in plans[1], plans


def test_a_delete_waits_for_a_writer_that_refers_to_the_row_and_is_then_refused():
    """The statement check locks what it refers to (FOR KEY SHARE, as a foreign key does)."""
    master = funded_account("0")
    lot = CreditLot.objects.create(account=master, amount=5, remaining=0, granted_at=master.created_at,
                                   expires_at=None, source="grant")
    written, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                txn, issued = _grant_rows(master, lot=lot)
                txn.save()
                Posting.objects.bulk_create([Posting(transaction=txn, account=master, amount=5, balance_after=5),
                                             Posting(transaction=txn, system_account=issued, amount=-5)])
                written.set()
                release.wait(10)
        finally:
            connection.close()

    outcome = {}

    def deleter():
        try:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM ledger_creditlot WHERE id = %s", [lot.pk])
            outcome["result"] = "deleted"
        except IntegrityError as exc:
            outcome["result"] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer)]
    threads[0].start()
    assert written.wait(10)
    threads.append(threading.Thread(target=deleter))
    threads[1].start()
    time.sleep(0.5)
    assert outcome == {}, "the delete did not wait for the writer's lock"
    release.set()
    for thread in threads:
        thread.join(10)
    assert "ledger rows refer to ledger_creditlot" in outcome["result"]
    assert CreditLot.objects.filter(pk=lot.pk).exists()
    assert Transaction.objects.filter(lot=lot).count() == 1


def test_every_constraint_and_index_the_models_declare_exists_in_the_database():
    """A migration can drop an index that Django's state still lists (0008 did: see migration 0013)."""
    missing = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            names = set(connection.introspection.get_constraints(cursor, model._meta.db_table))
            missing += [(model._meta.label, item.name) for item in [*model._meta.constraints, *model._meta.indexes]
                        if item.name not in names]
    assert missing == []


def test_a_second_expiry_of_the_same_lot_is_refused_by_the_database():
    master = funded_account("0")
    services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="1M",
                           at=timezone.now() - timedelta(days=60))
    assert services.lots_expire() == 1
    lot = CreditLot.objects.get()
    expired = services.system_account(SystemAccount.Code.EXPIRED, "INR")
    with pytest.raises(IntegrityError, match="one_expiry_per_lot"), transaction.atomic():
        txn = Transaction.objects.create(organization=master.organization, account=master, kind="expiry",
                                         currency="INR", amount=5, lot=lot)
        Posting.objects.bulk_create([Posting(transaction=txn, account=master, amount=-5, balance_after=-5),
                                     Posting(transaction=txn, system_account=expired, amount=5)])
    assert Transaction.objects.filter(kind="expiry").count() == 1



def _unposted_notes_written() -> int:
    """Rows ever inserted into ledger_unposted_transaction (the table itself is empty after each commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'ledger_unposted_transaction'")
        return cursor.fetchone()[0]


def test_only_transactions_written_apart_from_their_postings_wait_for_the_commit_check():
    """One-statement writers (charges, expiry) are checked when the statement ends; bulk writers at commit."""
    master = funded_account("10")
    before = _unposted_notes_written()
    services.charge_create(actor=SYSTEM, account=master, channel="sms", quantity=2, unit_price="1")
    assert _unposted_notes_written() == before
    services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="1M")
    assert _unposted_notes_written() == before + 1  # the grant's transaction, inserted before its postings
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_unposted_transaction")
        assert cursor.fetchone()[0] == 0  # checked and cleared at commit
    master.refresh_from_db()
    assert master.balance == Decimal("13")
    call_command("check_ledger")

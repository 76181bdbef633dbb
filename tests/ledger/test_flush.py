"""manage.py flush on PostgreSQL: the ledger's guarded tables empty too; the test runner's flush deletes rows
(no file replaced), anything else truncates."""

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection

from ledger import services
from ledger.management.commands import flush as flush_command
from ledger.models import Posting, Transaction
from tests.factories import make_org

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


def filenode(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_filenode(%s::regclass)", [table])
        return cursor.fetchone()[0]


def granted() -> int:
    org = make_org(name="Flushed")
    return services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="10").pk


def test_the_test_runner_s_flush_deletes_every_row_and_keeps_the_files_and_sequences():
    first = granted()
    before = filenode("ledger_transaction")
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    assert not Transaction.objects.exists() and not Posting.objects.exists()
    assert filenode("ledger_transaction") == before  # DELETE, not TRUNCATE
    assert Permission.objects.exists()  # post_migrate ran: permissions made again
    assert granted() > first  # sequences not reset, as asked


def test_a_flush_that_resets_sequences_truncates():
    granted()
    before = filenode("ledger_transaction")
    call_command("flush", verbosity=0, interactive=False)
    assert not Transaction.objects.exists()
    assert filenode("ledger_transaction") != before
    assert granted() == 1


def test_a_database_with_many_rows_is_truncated(monkeypatch):
    granted()
    monkeypatch.setattr(flush_command, "FEW_ROWS", -1)
    before = filenode("ledger_transaction")
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    assert not Transaction.objects.exists()
    assert filenode("ledger_transaction") != before


def test_the_guard_triggers_are_on_again_after_a_flush():
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"

"""Lot expiry, on both paths (per account and set-based): one expiry transaction per lot, running twice changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger import services
from ledger.models import Transaction
from tests.factories import SYSTEM, funded_account

from .helpers import D, charge, refreshed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


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



@pytest.mark.usefixtures("postgres_only")
@pytest.mark.parametrize(("method", "applied"), [("lz4", True), ("", False), ("no-such-method", False)])
def test_an_expiry_chunk_commits_without_waiting_and_compresses_its_wal_where_it_may(settings, method, applied):
    """SET LOCAL only: the chunk's own transaction, never the session's later ones (the tests run as a superuser)."""
    from django.db import connection, transaction

    from ledger.services import expiry

    settings.LEDGER_EXPIRY_WAL_COMPRESSION = method
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('wal_compression'), current_setting('synchronous_commit')")
        server = cursor.fetchone()
        with transaction.atomic():
            assert expiry.chunk_settings(cursor) is applied
            cursor.execute("SELECT current_setting('wal_compression'), current_setting('synchronous_commit')")
            assert cursor.fetchone() == ((method if applied else server[0]), "off")
            transaction.set_rollback(True)
        cursor.execute("SELECT current_setting('wal_compression'), current_setting('synchronous_commit')")
        assert cursor.fetchone() == server

"""Lot expiry: every lot past its expiry loses what it has left, one expiry transaction per lot.

Two implementations of one rule: per account in Python (lots.expire_lot, as charges do when they
meet a due lot), and on PostgreSQL one set-based statement per chunk of accounts.
tests/ledger/services/test_expiry.py runs the same cases through both and compares the rows.
"""

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..locks import lock_account, lock_account_ids, lock_active_lots
from ..models import CreditLot, Organization, SystemAccount, TransactionKind
from ..money import SYSTEM, Actor
from .book import Book, Movement, publish_after_commit, system_account
from .lots import expire_lot

# One statement expires every due lot of a chunk of (locked) accounts: the lots are emptied, one expiry
# transaction per lot is inserted with its two postings, and the cached balances drop. balance_after
# is the account balance minus the running sum of the due lots in draw order (an account with credit
# in its lots has no debt, so its balance is exactly the lots' remaining amounts). The lots are updated
# where the statement read them (by ctid, a TID scan instead of a primary key lookup per lot): their accounts
# are locked, so no other writer moved them, and a lot that had moved would not be updated and the counts
# checked after the statement would refuse the chunk.
EXPIRE_DUE_LOTS_SQL = """
WITH due AS (
    SELECT l.id AS lot_id, l.ctid AS lot_row, l.account_id, l.remaining, l.expires_at, l.granted_at,
           a.organization_id, o.currency,
           a.balance - SUM(l.remaining) OVER (PARTITION BY l.account_id
                                             ORDER BY l.expires_at, l.granted_at, l.id) AS balance_after
    FROM unnest(%(ids)s::uuid[]) AS chunk (account_id)
    JOIN ledger_account a ON a.id = chunk.account_id
    JOIN ledger_organization o ON o.id = a.organization_id
    JOIN ledger_creditlot l ON l.account_id = a.id AND l.remaining > 0 AND l.expires_at <= %(at)s
),
lots AS (
    UPDATE ledger_creditlot l SET remaining = 0 WHERE l.ctid = ANY(ARRAY(SELECT lot_row FROM due)) RETURNING l.id
),
txns AS (
    INSERT INTO ledger_transaction (organization_id, account_id, kind, currency, amount, created_at, actor_user_id,
                                    actor_service, reference, memo, channel, country, category, traffic, period,
                                    metadata, lot_id)
    SELECT organization_id, account_id, 'expiry', currency, remaining, %(at)s, %(actor_user)s, %(actor)s, '',
           'Lot ' || lot_id || ' expired', '', '', '', '', '', '{}'::jsonb, lot_id
    FROM due ORDER BY account_id, expires_at, granted_at, lot_id
    RETURNING id, lot_id, account_id, amount, currency
),
postings AS (
    INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
    SELECT t.id, t.account_id, NULL, -t.amount, d.balance_after, %(at)s FROM txns t JOIN due d ON d.lot_id = t.lot_id
    UNION ALL
    SELECT t.id, NULL, s.id, t.amount, NULL, %(at)s
    FROM txns t JOIN ledger_systemaccount s ON s.code = 'expired' AND s.currency = t.currency
    RETURNING 1
),
accounts AS (
    UPDATE ledger_account a SET balance = a.balance - x.total
    FROM (SELECT account_id, SUM(remaining) AS total FROM due GROUP BY account_id) x
    WHERE a.id = x.account_id RETURNING a.id
)
SELECT (SELECT count(*) FROM txns), (SELECT count(*) FROM postings), (SELECT count(*) FROM lots),
       (SELECT array_agg(currency || ' ' || n || ' ' || total)
        FROM (SELECT currency, count(*) AS n, SUM(amount) AS total FROM txns GROUP BY currency) by_currency)
"""


def uses_expiry_statement() -> bool:
    """Whether lots expire through the set-based statement: on PostgreSQL unless LEDGER_MONEY_PATH is "python"."""
    return connection.vendor == "postgresql" and settings.LEDGER_MONEY_PATH == "database"


def lots_expire(*, at: datetime | None = None, actor: Actor = SYSTEM, limit: int | None = None,
                chunk: int = 1000, workers: int = 2, account_ids: Iterable | None = None) -> int:
    """Expire every lot past its expiry as of `at` (of `account_ids` only, when given): one expiry transaction
    per lot. Safe to run twice.

    Accounts are processed in chunks, each locked in primary-key order in its own transaction. With
    the set-based statement, one statement does a whole chunk, and when there are several chunks up to
    `workers` threads (each on its own connection) take alternate chunks; otherwise the rows are
    built per account.
    """
    at = at or timezone.now()
    due = CreditLot.objects.filter(remaining__gt=0, expires_at__lte=at)
    if account_ids is not None:
        due = due.filter(account_id__in=list(account_ids))
    # In id order from PostgreSQL (its index walk gives it: no set and sort of 200,000 ids in Python).
    account_ids = list(due.order_by("account_id").values_list("account_id", flat=True).distinct()[: limit or None])
    if not account_ids:
        return 0
    if not uses_expiry_statement():
        return sum(_expire_account_lots(account_id, at, actor) for account_id in account_ids)
    # The statement posts to the expired account of each lot's currency: one per currency of the orgs (a
    # handful of values; joining every due lot to its org to find them took 0.6 s of a million-lot run).
    for currency in Organization.objects.order_by().values_list("currency", flat=True).distinct():
        system_account(SystemAccount.Code.EXPIRED, currency)
    chunks = [account_ids[start:start + chunk] for start in range(0, len(account_ids), chunk)]
    if workers <= 1 or len(chunks) == 1 or connection.in_atomic_block:
        return sum(_expire_chunk(ids, at, actor) for ids in chunks)

    def run(share: list) -> int:
        try:
            return sum(_expire_chunk(ids, at, actor) for ids in share)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(run, [chunks[index::workers] for index in range(workers)]))


def _expire_chunk(ids: list, at: datetime, actor: Actor) -> int:
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        chunk_settings(cursor)
        lock_account_ids(ids)
        cursor.execute(EXPIRE_DUE_LOTS_SQL, {"ids": ids, "at": at, "actor_user": actor.user_id,
                                             "actor": actor.service_label})
        transactions, postings, lots, by_currency = cursor.fetchone()
        if postings != 2 * transactions or lots != transactions:  # pragma: no cover - guarded by triggers too
            raise IntegrityError(f"expiry wrote {transactions} transactions, {postings} postings, {lots} lots")
        movements = [Movement(kind=TransactionKind.EXPIRY, currency=currency, amount=Decimal(total), count=int(count),
                              actor=actor) for currency, count, total in (row.split(" ") for row in by_currency or [])]
        publish_after_commit("lots_expire", ids, movements=movements)
        return transactions


# Where the role may, the chunk's WAL compresses its full-page images: a million-lot run with the packaged
# defaults (128 MB of buffers, 1 GB max_wal_size) rewrites every page it touches after each of its forced
# checkpoints, and those images were over half of its WAL. PostgreSQL 15+ (has_parameter_privilege).
WAL_COMPRESSION_SQL = """
SELECT set_config('wal_compression', %(method)s, true) FROM pg_settings
WHERE name = 'wal_compression' AND %(method)s = ANY(enumvals) AND has_parameter_privilege('wal_compression', 'SET')
"""


def chunk_settings(cursor) -> bool:
    """Settings of one chunk's transaction (SET LOCAL); True when its WAL compresses page images.

    The commit does not wait for its WAL to reach the disk (synchronous_commit off): a crash may lose the
    last chunks' commits, never part of one, and the next run expires those lots again.
    """
    cursor.execute("SET LOCAL synchronous_commit = off")
    method = settings.LEDGER_EXPIRY_WAL_COMPRESSION
    if not method or connection.pg_version < 150000:
        return False
    cursor.execute(WAL_COMPRESSION_SQL, {"method": method})
    return cursor.fetchone() is not None


def _expire_account_lots(account_id, at: datetime, actor: Actor) -> int:
    with transaction.atomic(durable=True):
        locked = lock_account(account_id)
        book = Book(at, "lots_expire")
        lots = [lot for lot in lock_active_lots(locked) if lot.expires_at is not None and lot.expires_at <= at]
        for lot in lots:
            expire_lot(book, locked, lot, actor)
        book.flush(locked)
        return len(lots)

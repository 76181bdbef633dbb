"""Benchmark: expiring due credit lots, the ledger service (per account) against a set-based SQL version.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/expiry.py [--accounts 2000] [--lots 5]

Works in a throw-away database (<NAME>_bench, created with the migrations and dropped at the end),
seeds accounts with due lots straight in SQL (fast, bench only), then times
`ledger.services.lots_expire` and `lots_expire_set_based` below (the proposal for ledger/services.py)
on identical data, checks both produce one expiry per lot and consistent balances, and prints the
figures with an extrapolation to one million lots.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from ledger import services  # noqa: E402
from ledger.models import SystemAccount  # noqa: E402

EXPIRE_SQL = """
WITH due AS (
    SELECT l.id AS lot_id, l.account_id, l.remaining, l.expires_at, l.granted_at, a.organization_id, o.currency,
           a.balance - SUM(l.remaining) OVER (PARTITION BY l.account_id
                                             ORDER BY l.expires_at, l.granted_at, l.id) AS balance_after
    FROM ledger_creditlot l
    JOIN ledger_account a ON a.id = l.account_id
    JOIN ledger_organization o ON o.id = a.organization_id
    WHERE l.account_id = ANY(%(ids)s) AND l.remaining > 0 AND l.expires_at <= %(at)s
),
lots AS (
    UPDATE ledger_creditlot l SET remaining = 0 FROM due WHERE l.id = due.lot_id RETURNING l.id
),
txns AS (
    INSERT INTO ledger_transaction (organization_id, account_id, kind, currency, amount, created_at, actor_service,
                                    reference, memo, channel, country, category, traffic, period, metadata, lot_id)
    SELECT organization_id, account_id, 'expiry', currency, remaining, %(at)s, %(actor)s, '',
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
       (SELECT count(*) FROM accounts)
"""


def _balances_changed(account_ids) -> None:
    from alerts import hooks

    hooks.balances_changed(account_ids)


def lots_expire_set_based(*, at=None, actor=services.SYSTEM, chunk: int = 5000) -> int:
    """Set-based lot expiry: per chunk of accounts, lock them in pk order, then one statement writes
    the lot updates, expiry transactions, both postings and the new balances. Safe to run twice."""
    from ledger.models import CreditLot

    at = at or timezone.now()
    due = CreditLot.objects.filter(remaining__gt=0, expires_at__lte=at)
    for currency in due.values_list("account__organization__currency", flat=True).distinct():
        services.system_account(SystemAccount.Code.EXPIRED, currency)
    account_ids = sorted(set(due.values_list("account_id", flat=True)), key=str)
    expired = 0
    for start in range(0, len(account_ids), chunk):
        ids = account_ids[start:start + chunk]
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM ledger_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
            cursor.execute(EXPIRE_SQL, {"ids": ids, "at": at, "actor": actor.label})
            txns, postings, _lots, _accounts = cursor.fetchone()
            assert postings == 2 * txns
            expired += txns
            transaction.on_commit(partial(_balances_changed, ids))
    return expired


def seed(accounts: int, lots_per_account: int) -> None:
    """Orgs with one master account each, funded by `lots_per_account` lots that expired yesterday."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE ledger_posting, ledger_transaction, ledger_creditlot, ledger_account, "
                       "ledger_organization CASCADE")
        cursor.execute("""
            INSERT INTO ledger_organization (id, name, wallet_id, currency, timezone, payment_scheme,
                                             credit_management_enabled, created_at)
            SELECT md5('org' || g)::uuid, 'Bench ' || g, 'B-' || g, 'INR', 'Asia/Kolkata', 'prepaid', true, now()
            FROM generate_series(1, %s) g""", [accounts])
        cursor.execute("""
            INSERT INTO ledger_account (id, organization_id, name, is_master, balance_mode, balance, held,
                                        credit_limit, created_at)
            SELECT md5('acc' || g)::uuid, md5('org' || g)::uuid, 'Master account', true, 'own', 10 * %s, 0, 0, now()
            FROM generate_series(1, %s) g""", [lots_per_account, accounts])
        cursor.execute("""
            INSERT INTO ledger_creditlot (account_id, amount, remaining, granted_at, expires_at, source,
                                          purchase_order, comment, created_by_service)
            SELECT md5('acc' || g)::uuid, 10, 10, now() - interval '200 days' + (k || ' seconds')::interval,
                   now() - interval '1 day' + (k || ' seconds')::interval, 'grant', '', '', 'bench'
            FROM generate_series(1, %s) g, generate_series(1, %s) k""", [accounts, lots_per_account])
        cursor.execute("ANALYZE")


def check(accounts: int, lots_per_account: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT lot_id) FROM ledger_transaction WHERE kind = 'expiry'")
        txns, lots = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM ledger_account WHERE balance <> 0")
        nonzero = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM ledger_creditlot WHERE remaining > 0")
        left = cursor.fetchone()[0]
    assert txns == lots == accounts * lots_per_account, (txns, lots)
    assert nonzero == 0 and left == 0, (nonzero, left)


def timed(name: str, function, accounts: int, lots_per_account: int) -> float:
    seed(accounts, lots_per_account)
    at = timezone.now()
    started = time.perf_counter()
    expired = function(at=at)
    elapsed = time.perf_counter() - started
    check(accounts, lots_per_account)
    again = function(at=at + timedelta(minutes=15))
    assert again == 0, again
    total = accounts * lots_per_account
    rate = expired / elapsed
    print(f"{name}: {expired} lots on {accounts} accounts in {elapsed:.2f}s = {rate:,.0f} lots/s; "
          f"1,000,000 lots (same shape) ~ {1_000_000 / rate:,.0f}s; second run expired {again}")
    assert expired == total
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--lots", type=int, default=5, help="due lots per account")
    parser.add_argument("--skip-service", action="store_true", help="time only the set-based version")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/expiry.py needs PostgreSQL: set DATABASE_URL.")
    # No alert checks during the bench: they would time Redis, not the expiry.
    import alerts.hooks

    alerts.hooks.balances_changed = lambda account_ids: None
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = settings.DATABASES["default"]["NAME"] + "_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        if not args.skip_service:
            timed("ledger.services.lots_expire (per account)", services.lots_expire, args.accounts, args.lots)
        timed("lots_expire_set_based (proposal)", lots_expire_set_based, args.accounts, args.lots)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()

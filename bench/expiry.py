"""Benchmark: expiring due credit lots at scale with ledger.services.lots_expire (set-based on PostgreSQL).

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/expiry.py [--accounts 2000] [--lots 5]

Works in a throw-away database (<NAME>_bench, created with the migrations and dropped at the end),
seeds accounts with due lots straight in SQL (fast, bench only), then times
`ledger.services.lots_expire`, checks it produced one expiry per lot and consistent balances and that
a second run expires nothing, and prints the figures with an extrapolation to one million lots, the
load average, and what the run wrote (WAL, full-page images, forced checkpoints, buffers written by the
backends: server-wide counters, so other sessions' writes count too).
"""

import argparse
import os
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from ledger import services  # noqa: E402
from ledger.events import balances_changed  # noqa: E402


@contextmanager
def throwaway_database():
    """DATABASE_URL's name + "_bench", created with the migrations for the block and dropped after it
    (bench/activation.py uses it too)."""
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = settings.DATABASES["default"]["NAME"] + "_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def insert_organizations(cursor, count: int) -> None:
    """`count` INR orgs in Asia/Kolkata, ids md5('org' || n) for n = 1..count (bench/activation.py uses them too)."""
    cursor.execute("""
        INSERT INTO ledger_organization (id, name, wallet_id, currency, timezone, payment_scheme,
                                         credit_management_enabled, created_at, purchase_expires_in,
                                         individual_user_credits)
        SELECT md5('org' || g)::uuid, 'Bench ' || g, 'B-' || g, 'INR', 'Asia/Kolkata', 'prepaid', true, now(),
               '1Y', false
        FROM generate_series(1, %s) g""", [count])


def seed(accounts: int, lots_per_account: int) -> None:
    """Orgs with one master account each, funded by `lots_per_account` lots that expired yesterday."""
    with transaction.atomic(), connection.cursor() as cursor:
        # The ledger tables refuse TRUNCATE; a superuser (the bench's role) may switch triggers off for it.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("TRUNCATE ledger_posting, ledger_transaction, ledger_creditlot, ledger_account, "
                       "ledger_organization CASCADE")
        cursor.execute("SET LOCAL session_replication_role = origin")
        insert_organizations(cursor, accounts)
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


RESULT = Path(__file__).resolve().parent / "expiry-result.md"  # included in BENCHMARKS.md by bench/run.py


def server_settings() -> str:
    """The PostgreSQL settings that decide how a million-row write goes (buffers, WAL, checkpoints)."""
    names = ("shared_buffers", "max_wal_size", "wal_compression")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
                       [list(names)])
        return ", ".join(f"{name}={value}" for name, value in cursor.fetchall())


def job_settings() -> str:
    """What lots_expire sets in each chunk's transaction (ledger.services.expiry.chunk_settings)."""
    from ledger.services.expiry import chunk_settings

    with transaction.atomic(), connection.cursor() as cursor:
        compressed = chunk_settings(cursor)
        transaction.set_rollback(True)
    method = settings.LEDGER_EXPIRY_WAL_COMPRESSION if compressed else "off"
    return f"per chunk: synchronous_commit=off, wal_compression={method}"


def write_counters() -> tuple:
    """WAL bytes, full-page images, forced checkpoints and buffers written by backends so far (server-wide)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT w.wal_bytes, w.wal_fpi, b.checkpoints_req, b.buffers_backend "
                       "FROM pg_stat_wal w, pg_stat_bgwriter b")
        return tuple(int(value) for value in cursor.fetchone())


def record(line: str, settings_label: str) -> None:
    """Keep the latest result per server configuration in bench/expiry-result.md."""
    kept = [old for old in (RESULT.read_text().splitlines() if RESULT.exists() else [])
            if old.strip() and f"[{settings_label}]" not in old]
    RESULT.write_text("\n".join([*kept, line]) + "\n")


def timed(name: str, function, accounts: int, lots_per_account: int) -> float:
    seed(accounts, lots_per_account)
    at = timezone.now()
    load = os.getloadavg()
    before = write_counters()
    started = time.perf_counter()
    expired = function(at=at)
    elapsed = time.perf_counter() - started
    wal, images, checkpoints, backend_writes = (after - first for first, after in zip(before, write_counters(), strict=True))
    check(accounts, lots_per_account)
    again = function(at=at + timedelta(minutes=15))
    assert again == 0, again
    total = accounts * lots_per_account
    rate = expired / elapsed
    label = f"{server_settings()}; {job_settings()}"
    line = (f"{name}: {expired:,} lots on {accounts:,} accounts in {elapsed:.2f}s = {rate:,.0f} lots/s; "
            f"1,000,000 lots (same shape) ~ {1_000_000 / rate:,.0f}s; second run expired {again}; "
            f"load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
            f"WAL {wal / 1e9:.2f} GB ({images / max(expired, 1):.2f} page images per lot), {checkpoints} forced "
            f"checkpoints, {backend_writes:,} buffers written by the backends (server-wide counters)")
    print(line, f"[{label}]")
    record(f"- {time.strftime('%Y-%m-%d', time.gmtime())}, `bench/expiry.py --accounts {accounts} "
           f"--lots {lots_per_account}` [{label}]: {line}", label)
    assert expired == total
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--lots", type=int, default=5, help="due lots per account")
    parser.add_argument("--wal-compression", default=None,
                        help="LEDGER_EXPIRY_WAL_COMPRESSION for the run ('' for none; default: the setting)")
    args = parser.parse_args()
    if args.wal_compression is not None:
        settings.LEDGER_EXPIRY_WAL_COMPRESSION = args.wal_compression
    if connection.vendor != "postgresql":
        sys.exit("bench/expiry.py needs PostgreSQL: set DATABASE_URL.")
    # No alert checks during the bench: they would time Redis, not the expiry.
    balances_changed.disconnect(dispatch_uid="alerts.on_balances_changed")
    with throwaway_database():
        timed("ledger.services.lots_expire", services.lots_expire, args.accounts, args.lots)


if __name__ == "__main__":
    main()

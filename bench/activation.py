"""Benchmark: the nightly rate-card activation for many orgs (ratecards.services.rate_card_versions_activate).

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/activation.py [--orgs 10000] [--rates 20]

Works in a throw-away database (<NAME>_bench, created with the migrations and dropped at the end),
seeds `--orgs` orgs straight in SQL (fast, bench only), each with a current rate card version (60 days
old) and a pending one that became due an hour ago, `--rates` rates each, then times the activation
job as beat runs it, checks that every pending version is now current and every old one superseded
(with its history row) and that a second run activates nothing, and keeps the figure in
bench/activation-result.md (BENCHMARKS.md includes it).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from expiry import insert_organizations, throwaway_database  # noqa: E402 - bench/expiry.py, beside this file

from ratecards.services import rate_card_versions_activate  # noqa: E402

RESULT = Path(__file__).resolve().parent / "activation-result.md"


def seed(orgs: int, rates: int) -> None:
    """Orgs, each with version 1 current since 60 days and version 2 pending, due an hour ago."""
    with transaction.atomic(), connection.cursor() as cursor:
        insert_organizations(cursor, orgs)
        cursor.execute("""
            INSERT INTO ratecards_ratecardversion (organization_id, number, effective_from, status, created_at,
                                                   created_by_service, note)
            SELECT md5('org' || g)::uuid, v,
                   CASE v WHEN 1 THEN now() - interval '60 days' ELSE now() - interval '1 hour' END,
                   CASE v WHEN 1 THEN 'current' ELSE 'pending' END, now() - interval '61 days', 'bench', ''
            FROM generate_series(1, %s) g, generate_series(1, 2) v""", [orgs])
        cursor.execute("""
            INSERT INTO ratecards_rate (version_id, channel, country, category, unit_price)
            SELECT v.id, 'sms', CASE k WHEN 1 THEN '' ELSE chr(65 + k / 26 %% 26) || chr(65 + k %% 26) END, '',
                   0.01 * k
            FROM ratecards_ratecardversion v, generate_series(1, %s) k""", [rates])
        cursor.execute("ANALYZE")


def check(orgs: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, number, count(*) FROM ratecards_ratecardversion GROUP BY 1, 2 ORDER BY 1, 2")
        counts = {(status, number): n for status, number, n in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM ratecards_historicalratecardversion")
        history = cursor.fetchone()[0]
    assert counts == {("current", 2): orgs, ("superseded", 1): orgs}, counts
    assert history == 2 * orgs, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--rates", type=int, default=20, help="rates per version")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/activation.py needs PostgreSQL: set DATABASE_URL.")
    with throwaway_database():
        seed(args.orgs, args.rates)
        at = timezone.now()
        started = time.perf_counter()
        activated = rate_card_versions_activate(at=at)
        elapsed = time.perf_counter() - started
        check(args.orgs)
        again = rate_card_versions_activate(at=at)
        assert len(activated) == args.orgs and not again, (len(activated), len(again))
        line = (f"- {time.strftime('%Y-%m-%d', time.gmtime())}, `bench/activation.py --orgs {args.orgs} --rates "
                f"{args.rates}`: {len(activated):,} orgs' pending versions made current (and their previous "
                f"ones superseded, with history rows) in {elapsed:.2f}s = {len(activated) / elapsed:,.0f} orgs/s; "
                f"load average {os.getloadavg()[0]:.1f} at the end; second run activated {len(again)}")
        print(line)
        RESULT.write_text(line + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: the ledger page queries on ledger_posting and on a copy partitioned by month (docs/scaling.md).

Usage: DATABASE_URL=postgres://.../bench_reads .venv/bin/python bench/partitioned.py [--runs 9]

Needs a database seeded by bench/reads.py. Builds (once) `bench_posting_by_month`, a copy of
ledger_posting with native range partitioning on created_at, one partition per month, the same
index as posting_account_newest and a primary key on (id, created_at) (a unique key on a partitioned
table must contain the partition key). Then times, on both tables, medians of `--runs` after one
warm-up, with the plan's partitions counted: the hot account's newest page, a page 200,000 entries
back (keyset cursor), one month of it (the finance page with a date range), and a balance as of an
instant. Prints a Markdown table.
"""

import argparse
import os
import re
import statistics
import time

import psycopg

QUERIES = {
    "page 1 (50 newest entries)": """
        SELECT id, amount, balance_after, created_at FROM {table}
        WHERE account_id = %(account)s ORDER BY created_at DESC, id DESC LIMIT 51""",
    "page at a cursor 200,000 back": """
        SELECT id, amount, balance_after, created_at FROM {table}
        WHERE account_id = %(account)s AND created_at <= %(at)s AND (created_at < %(at)s OR id < %(id)s)
        ORDER BY created_at DESC, id DESC LIMIT 51""",
    "one month, newest page": """
        SELECT id, amount, balance_after, created_at FROM {table}
        WHERE account_id = %(account)s AND created_at >= %(month)s AND created_at < %(month)s + interval '1 month'
        ORDER BY created_at DESC, id DESC LIMIT 51""",
    "one month, sum of the entries": """
        SELECT sum(amount), count(*) FROM {table}
        WHERE account_id = %(account)s AND created_at >= %(month)s AND created_at < %(month)s + interval '1 month'""",
    "balance as of an instant": """
        SELECT balance_after FROM {table} WHERE account_id = %(account)s AND created_at <= %(at)s
        ORDER BY created_at DESC, id DESC LIMIT 1""",
}


def build(conn) -> None:
    if conn.execute("SELECT to_regclass('bench_posting_by_month')").fetchone()[0]:
        return
    started = time.perf_counter()
    low, high = conn.execute("SELECT date_trunc('month', min(created_at)), max(created_at) FROM ledger_posting").fetchone()
    conn.execute("""CREATE TABLE bench_posting_by_month (LIKE ledger_posting INCLUDING DEFAULTS)
                    PARTITION BY RANGE (created_at)""")
    month = low
    while month <= high:
        name = f"bench_posting_{month:%Y_%m}"
        after = conn.execute("SELECT %s::timestamptz + interval '1 month'", [month]).fetchone()[0]
        conn.execute(f"CREATE TABLE {name} PARTITION OF bench_posting_by_month "  # DDL takes no parameters
                     f"FOR VALUES FROM ('{month.isoformat()}') TO ('{after.isoformat()}')")
        month = after
    conn.execute("INSERT INTO bench_posting_by_month SELECT * FROM ledger_posting")
    conn.execute("ALTER TABLE bench_posting_by_month ADD PRIMARY KEY (id, created_at)")
    conn.execute("CREATE INDEX ON bench_posting_by_month (account_id, created_at DESC, id DESC) "
                 "WHERE account_id IS NOT NULL")
    conn.execute("CREATE INDEX ON bench_posting_by_month (transaction_id)")
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE bench_posting_by_month")
    conn.autocommit = False
    print(f"built the partitioned copy in {time.perf_counter() - started:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_reads")
    with psycopg.connect(url) as conn:
        build(conn)
        account = conn.execute("SELECT value FROM bench_seed WHERE key = 'hot_account'").fetchone()[0]
        at, pk = conn.execute("SELECT created_at, id FROM ledger_posting WHERE account_id = %s "
                              "ORDER BY created_at DESC, id DESC OFFSET 200000 LIMIT 1", [account]).fetchone()
        month = conn.execute("SELECT date_trunc('month', now() - interval '60 days')").fetchone()[0]
        params = {"account": account, "at": at, "id": pk, "month": month}
        partitions = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                  "'bench_posting_by_month'::regclass").fetchone()[0]
        print(f"| query (hot account) | ledger_posting | by month ({partitions} partitions) | partitions read |")
        print("| --- | --- | --- | --- |")
        for name, sql in QUERIES.items():
            figures = []
            for table in ("ledger_posting", "bench_posting_by_month"):
                query = sql.format(table=table)
                conn.execute(query, params).fetchall()
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    conn.execute(query, params).fetchall()
                    times.append((time.perf_counter() - started) * 1000)
                figures.append(statistics.median(times))
            plan = "\n".join(row[0] for row in conn.execute(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql.format(table="bench_posting_by_month"), params))
            read = len({match for line in plan.splitlines() if "never executed" not in line
                        for match in re.findall(r"bench_posting_\d{4}_\d{2}\b", line)})
            print(f"| {name} | {figures[0]:.2f} ms | {figures[1]:.2f} ms | {read} |")
            conn.rollback()


if __name__ == "__main__":
    main()

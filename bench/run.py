"""Benchmarks of the money paths on PostgreSQL; figures go to BENCHMARKS.md (run with `make bench`).

`--render-only` writes BENCHMARKS.md again from bench/*.md without measuring (the head table is kept).

Measures, on a throwaway database `<name>_bench`: single charges on one hot account (1 and 4
threads), batch charges (1,000 per request), transfers, and lot expiry at scale. Nothing here
runs in the test suite: tests stay fast and deterministic.
"""

import os
import platform
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/creditsite")
os.environ["DATABASE_URL"] = base_url.rsplit("/", 1)[0] + "/" + base_url.rsplit("/", 1)[1].split("?")[0] + "_bench"
# Alert checks are enqueued after commit as in production (no worker consumes them here).
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

import django  # noqa: E402
import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402


def recreate_database() -> None:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    import redis

    queue = redis.Redis.from_url(os.environ["REDIS_URL"])
    queue.flushdb()
    recreate_database()
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from ledger import services
    from ledger.models import Account, CreditLot

    call_command("migrate", verbosity=0)
    actor = services.Actor(service="bench")
    results: list[tuple[str, str]] = []

    def org_with(amount, **kwargs):
        org = services.organization_create(actor=actor, name="Bench", currency="USD", **kwargs)
        services.credits_grant(actor=actor, account=org.master_account, amount=amount, expires_in="never")
        return Account.objects.select_related("organization").get(pk=org.master_account.pk)

    # 1. single charges, one thread, one hot account
    account = org_with("1000000")
    n = 2000
    start = time.perf_counter()
    for i in range(n):
        services.charge_create(actor=actor, account=account, channel="sms", unit_price="0.01", reference=str(i))
    elapsed = time.perf_counter() - start
    results.append(("charge_create, 1 thread, one hot account", f"{n / elapsed:,.0f} charges/s "
                    f"({elapsed / n * 1000:.2f} ms each, {n} charges)"))

    # 2. with an idempotency key (the API always sends one)
    start = time.perf_counter()
    for i in range(n):
        services.charge_create(actor=actor, account=account, channel="sms", unit_price="0.01", idempotency_key=f"k{i}")
    elapsed = time.perf_counter() - start
    results.append(("charge_create with idempotency key, 1 thread", f"{n / elapsed:,.0f} charges/s"))

    # 3. four threads on the same hot account
    per_thread, threads_count = 500, 4

    def hammer():
        local = Account.objects.select_related("organization").get(pk=account.pk)
        for _ in range(per_thread):
            services.charge_create(actor=actor, account=local, channel="sms", unit_price="0.01")
        connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(threads_count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    results.append((f"charge_create, {threads_count} threads, one hot account",
                    f"{per_thread * threads_count / elapsed:,.0f} charges/s"))

    # 4. batches of 1,000
    batches = 10
    items = [services.ChargeRequest(channel="sms", unit_price="0.01", quantity=1) for _ in range(1000)]
    start = time.perf_counter()
    for i in range(batches):
        services.charge_batch(actor=actor, account=account, items=items, idempotency_key=f"batch-{i}")
    elapsed = time.perf_counter() - start
    results.append(("charge_batch, 1,000 items per call", f"{batches * 1000 / elapsed:,.0f} charges/s "
                    f"({elapsed / batches * 1000:.0f} ms per batch)"))

    # 5. through the whole HTTP stack: token auth, validation, idempotency key, the service, the response
    import json

    from django.test import Client

    from apiauth.services import service_token_create

    _, token = service_token_create(name="bench-api", scopes=["charge"], all_organizations=True,
                                    throttle_rate="1000000/min")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = json.dumps({"account": str(account.pk), "channel": "sms", "country": "IN", "traffic": "transactional"})
    from ratecards.services import rate_card_version_create

    rate_card_version_create(actor=actor, organization=account.organization,
                             rates=[{"channel": "sms", "country": None, "category": None, "unit_price": "0.01"}])
    n_http = 1000
    start = time.perf_counter()
    for i in range(n_http):
        response = client.post("/api/v1/charges", body, content_type="application/json", secure=True,
                               HTTP_IDEMPOTENCY_KEY=f"http-{i}")
        assert response.status_code == 201, response.content
    elapsed = time.perf_counter() - start
    results.append(("POST /api/v1/charges in-process (auth, pricing, idempotency key, JSON)",
                    f"{n_http / elapsed:,.0f} requests/s ({elapsed / n_http * 1000:.2f} ms each)"))

    # 6. transfers back and forth
    sub = services.account_create(actor=actor, organization=account.organization, name="Sub")
    start = time.perf_counter()
    for i in range(500):
        a, b = (account, sub) if i % 2 == 0 else (sub, account)
        services.transfer_create(actor=actor, from_account=a, to_account=b, amount="1")
    elapsed = time.perf_counter() - start
    results.append(("transfer_create", f"{500 / elapsed:,.0f} transfers/s"))

    # 7. lot expiry: many accounts with due lots
    lots_total = int(os.environ.get("BENCH_EXPIRY_LOTS", "20000"))
    org = services.organization_create(actor=actor, name="Expiry", currency="USD")
    past = timezone.now() - timedelta(days=400)
    accounts = [services.account_create(actor=actor, organization=org, name=f"A{i}") for i in range(lots_total // 10)]
    for acc in accounts:
        for _ in range(10):
            services.credits_grant(actor=actor, account=acc, amount="5", expires_in="1M", at=past)
    due = CreditLot.objects.filter(remaining__gt=0, expires_at__lte=timezone.now()).count()
    start = time.perf_counter()
    expired = services.lots_expire()
    elapsed = time.perf_counter() - start
    results.append((f"lots_expire, {due:,} due lots over {len(accounts):,} accounts",
                    f"{expired / elapsed:,.0f} lots/s ({elapsed:.1f} s; a million lots at this rate: "
                    f"{1_000_000 / (expired / elapsed):.0f} s)"))

    call_command("check_ledger", verbosity=0)
    queue.flushdb()
    write_report(results)


def write_report(results) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py) on a throwaway PostgreSQL database; the ledger is",
        "checked with `check_ledger` afterwards. Tests never assert on these numbers.",
        "",
        f"- when: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg}"
        " on the same machine",
        "",
        "| path | result |",
        "| --- | --- |",
        *[f"| {name} | {value} |" for name, value in results],
        "",
    ]
    write_sections(lines)


def render_only() -> None:
    """Write BENCHMARKS.md again from the result files and write-ups of bench/, keeping the head (the table above)
    that the last full run measured: for write-ups changed by hand or figures recorded by the other scripts."""
    head = (ROOT / "BENCHMARKS.md").read_text().split("\n## ", 1)[0].rstrip("\n")
    write_sections([*head.splitlines(), ""], echo=False)


def write_sections(lines: list[str], echo: bool = True) -> None:
    """BENCHMARKS.md: `lines` (the head), then every result file and write-up of bench/ in its section."""
    expiry = ROOT / "bench" / "expiry-result.md"
    if expiry.exists():
        lines += [
            "## Lot expiry at scale (bench/expiry.py, lots seeded in SQL)",
            "",
            "The latest run per PostgreSQL configuration and per what the job set in each chunk (in brackets).",
            "With the packaged defaults (128 MB shared_buffers, 1 GB max_wal_size) a million-lot run is bound",
            "by buffer eviction and forced checkpoints (2.3-3 million buffer writes by the backends, 2.4-4.2 GB",
            "of WAL); sized as for production it is bound by CPU. See docs/jobs-and-alerts.md for what each",
            "step costs.",
            "",
            expiry.read_text(),
            "",
        ]
        if (ROOT / "bench" / "expiry.md").exists():  # before and after (issue 19), written by hand
            lines += [(ROOT / "bench" / "expiry.md").read_text(), ""]
    activation = ROOT / "bench" / "activation-result.md"
    if activation.exists():
        lines += [
            "## Rate-card activation for many orgs (bench/activation.py)",
            "",
            "The nightly job as beat runs it: one short transaction per org (the org row locked FOR NO KEY",
            "UPDATE, which charges do not wait for), its due version made current and the one before superseded,",
            "each change with its history row.",
            "",
            activation.read_text(),
            "",
        ]
    write_path = ROOT / "bench" / "write-path.md"  # before and after (issue 19), written by hand
    latest = ROOT / "bench" / "writes-result.md"  # the latest `bench/writes.py`
    if write_path.exists() or latest.exists():
        lines += ["## Write path (bench/writes.py)", ""]
        if latest.exists():
            lines += ["The latest run of `bench/writes.py` (each figure beside its reference, measured in the same rounds):",
                      "", latest.read_text(), ""]
        if write_path.exists():
            lines += [write_path.read_text(), ""]
        if (ROOT / "bench" / "batchfn.md").exists():  # batches on the database path (issue 19, round 2)
            lines += [(ROOT / "bench" / "batchfn.md").read_text(), ""]
    # Sections measured by their own scripts and written up by hand: kept whatever this run measured.
    for title, name in (("Request overhead of the operations middleware (bench/ops_overhead.py)", "ops-overhead.md"),
                        ("Read paths at depth (bench/reads.py, issue 19), 2026-12-07", "read-paths.md")):
        if (ROOT / "bench" / name).exists():
            lines += [f"## {title}", "", (ROOT / "bench" / name).read_text(), ""]
            if name == "read-paths.md":  # the second round's write-ups of the read side
                lines += [(ROOT / "bench" / extra).read_text() + "\n" for extra in ("pages.md", "copyexport.md")
                          if (ROOT / "bench" / extra).exists()]
    comparison = ROOT / "bench" / "redesign-comparison.md"
    if comparison.exists():
        lines += ["## Comparisons", "", comparison.read_text(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    if echo:
        print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:] == ["--render-only"]:
        render_only()
    else:
        main()

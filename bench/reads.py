"""Benchmark: the read paths (pages, totals, reports, CSV exports) with millions of postings on PostgreSQL.

Usage: DATABASE_URL=postgres://.../bench_reads .venv/bin/python bench/reads.py [--postings 5000000] [--reuse]
       (`make bench-reads`; `make bench` runs it too with a smaller default)

Works in the database named by DATABASE_URL (dropped and created again unless `--reuse` finds it
seeded with the same size). Seeds straight in SQL with generate_series (fast, bench only, the ledger's
guard triggers off while seeding): a hot org whose master account has 40% of the entries and 9
subaccounts 5%, a 100-account org 10%, and 900 one-account orgs the rest, spread over the last 365
days (every transaction a customer posting and a system posting: `--postings` counts both); then rolls up
the closed months into the monthly totals, as the nightly job does (every run: nothing once done), and gives
the hot and the 100-account org a rate card in force (about 750 rates) and a pending edit, and the
installation 2,000 users (people of the orgs: the console's user choices grow with them). Then times,
medians of `--runs` runs after one warm-up, through the Django test client (views, templates and all):
the admin org dashboard (the page, each of its three panels the page fetches after it, and the page with
the panels in place), the finance ledger page (hot account, hot org, one month, the 100-account org),
the API ledger page 1 and at a deep cursor, the reports of the last 12 months, the balance as of an
instant, the 100-account org's dashboard and ledger page as its org admin, and the finance and API CSV
exports of the hot account (rows/s, first-row latency, peak RSS).
Prints a Markdown table; `--label before|after` keeps the figures in bench/reads-result.md.
"""

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
os.environ.setdefault("ADMIN_REQUIRE_OTP", "0")  # the bench signs in with force_login
os.environ.setdefault("ADMIN_LOGIN_THROTTLE", "0")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_reads")
os.environ.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))

import django  # noqa: E402
import psycopg  # noqa: E402

RESULT = Path(__file__).resolve().parent / "reads-result.md"


def ensure_database(postings: int, reuse: bool) -> bool:
    """Create the database (dropping an old one) unless `reuse` finds it seeded; True when it must be seeded."""
    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if reuse and exists:
            with psycopg.connect(url) as db:
                try:
                    seeded = db.execute("SELECT value FROM bench_seed WHERE key = 'postings'").fetchone()
                except psycopg.errors.UndefinedTable:
                    seeded = None
            if seeded and int(seeded[0]) == postings:
                return False
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def seed(postings: int) -> None:
    """Orgs and accounts through the ORM and services; transactions and postings in set-based SQL."""
    from django.db import connection, transaction

    from ledger import services
    from ledger.models import Account, BalanceMode, Organization, SystemAccount

    actor = services.Actor(service="bench")
    started = time.perf_counter()
    accounts: list[tuple[int, str, str]] = []  # (index, account id, org id)

    def org(name: str):
        return services.organization_create(actor=actor, name=name, currency="INR", timezone_name="Asia/Kolkata")

    hot = org("Hot org")
    accounts.append((0, str(hot.master_account.pk), str(hot.pk)))
    subs = Account.objects.bulk_create([
        Account(organization=hot, name=f"Hot sub {i}", is_master=False, balance_mode=BalanceMode.OWN)
        for i in range(9)])
    accounts += [(1 + i, str(a.pk), str(hot.pk)) for i, a in enumerate(subs)]
    wide = org("Wide org")
    wide_accounts = [wide.master_account] + Account.objects.bulk_create([
        Account(organization=wide, name=f"Wide {i}", is_master=False, balance_mode=BalanceMode.OWN)
        for i in range(99)])
    accounts += [(10 + i, str(a.pk), str(wide.pk)) for i, a in enumerate(wide_accounts)]
    template = {field.attname: getattr(hot, field.attname) for field in Organization._meta.concrete_fields
                if field.attname not in ("id", "name", "wallet_id")}
    smalls = Organization.objects.bulk_create([Organization(**template, name=f"Small {i}", wallet_id=f"BS-{i}")
                                               for i in range(900)])
    masters = Account.objects.bulk_create([Account(organization=small, name="Master account", is_master=True,
                                                   balance_mode=BalanceMode.OWN) for small in smalls])
    accounts += [(110 + i, str(a.pk), str(a.organization_id)) for i, a in enumerate(masters)]
    print(f"  orgs and accounts: {time.perf_counter() - started:.1f}s", flush=True)
    txns = postings // 2
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no guard triggers while seeding
        cursor.execute("CREATE TEMP TABLE bench_acc (idx int PRIMARY KEY, account_id uuid, org_id uuid)")
        cursor.executemany("INSERT INTO bench_acc VALUES (%s, %s, %s)", accounts)
        system = {code: SystemAccount.objects.get_or_create(code=code, currency="INR")[0].pk
                  for code in ("issued", "expired", "usage")}
        # g % 20 in 0..7: hot master (40%); 8: hot subaccounts (5%); 9, 10: the 100-account org (10%); else small orgs.
        cursor.execute("""
            CREATE TEMP TABLE bench_txn AS
            SELECT g AS id,
                   CASE WHEN g %% 20 < 8 THEN 0 WHEN g %% 20 = 8 THEN 1 + (g / 20) %% 9
                        WHEN g %% 20 IN (9, 10) THEN 10 + (g / 20) %% 100 ELSE 110 + (g / 20) %% 900 END AS idx,
                   CASE WHEN g %% 500 = 1 THEN 'grant' WHEN g %% 997 = 3 THEN 'expiry' ELSE 'charge' END AS kind,
                   (ARRAY['sms', 'email', 'whatsapp', 'xengage'])[1 + g %% 4] AS channel,
                   now() - interval '365 days' * (1 - g::float8 / %s) AS created_at
            FROM generate_series(1, %s) g""", [txns, txns])
        cursor.execute("""
            INSERT INTO ledger_transaction (id, organization_id, account_id, kind, currency, amount, created_at,
                actor_service, reference, memo, channel, country, category, traffic, quantity, unit_price, period,
                metadata)
            SELECT t.id, a.org_id, a.account_id, t.kind, 'INR',
                   CASE t.kind WHEN 'grant' THEN 500 WHEN 'expiry' THEN 5 ELSE 0.25 * (1 + t.id % 4) END,
                   t.created_at, 'bench', CASE WHEN t.kind = 'charge' THEN 'msg-' || t.id ELSE '' END, '',
                   CASE WHEN t.kind = 'charge' THEN t.channel ELSE '' END,
                   CASE WHEN t.kind = 'charge' THEN (ARRAY['IN', 'US', 'GB'])[1 + t.id % 3] ELSE '' END,
                   CASE WHEN t.kind = 'charge' AND t.channel = 'whatsapp'
                        THEN (ARRAY['marketing', 'utility', 'service'])[1 + t.id % 3] ELSE '' END,
                   CASE WHEN t.kind = 'charge' THEN 'promotional' ELSE '' END,
                   CASE WHEN t.kind = 'charge' THEN 1 END,
                   CASE WHEN t.kind = 'charge' THEN 0.25 * (1 + t.id % 4) END, '', '{}'
            FROM bench_txn t JOIN bench_acc a USING (idx)""")
        # Customer postings with their running balance (opening 100,000 credits per account), then the system side.
        cursor.execute("""
            INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
            SELECT id, account_id, NULL, signed,
                   100000 + sum(signed) OVER (PARTITION BY account_id ORDER BY created_at, id), created_at
            FROM (SELECT t.id, t.account_id, t.created_at,
                         CASE WHEN t.kind = 'grant' THEN t.amount ELSE -t.amount END AS signed
                  FROM ledger_transaction t) s""")
        cursor.execute("""
            INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
            SELECT t.id, NULL, CASE t.kind WHEN 'grant' THEN %s WHEN 'expiry' THEN %s ELSE %s END,
                   CASE WHEN t.kind = 'grant' THEN -t.amount ELSE t.amount END, NULL, t.created_at
            FROM ledger_transaction t""", [system["issued"], system["expired"], system["usage"]])
        cursor.execute("""
            UPDATE ledger_account a SET balance = 100000 + s.net
            FROM (SELECT account_id, sum(amount) AS net FROM ledger_posting WHERE account_id IS NOT NULL
                  GROUP BY account_id) s WHERE s.account_id = a.id""")
        cursor.execute("SELECT setval(pg_get_serial_sequence('ledger_transaction', 'id'), %s)", [txns + 1])
        cursor.execute("SELECT setval(pg_get_serial_sequence('ledger_posting', 'id'), "
                       "(SELECT max(id) FROM ledger_posting))")
        cursor.execute("SET LOCAL session_replication_role = origin")
        rebuild = "SELECT to_regproc('ledger_day_totals_rebuild') IS NOT NULL"
        cursor.execute(rebuild)
        if cursor.fetchone()[0]:
            cursor.execute("SELECT ledger_day_totals_rebuild(NULL)")
        cursor.execute("CREATE TABLE bench_seed (key text PRIMARY KEY, value text)")
        cursor.execute("INSERT INTO bench_seed VALUES ('postings', %s), ('hot_org', %s), ('hot_account', %s), "
                       "('wide_org', %s)", [postings, str(hot.pk), str(hot.master_account.pk), str(wide.pk)])
    connection.close()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  seeded {postings:,} postings in {time.perf_counter() - started:.1f}s", flush=True)


def median_ms(function, runs: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export(client, url: str, **extra) -> dict:
    """Stream one CSV download: rows, seconds, rows/s, first-row latency and the growth of peak RSS."""
    before = peak_rss_mb()
    started = time.perf_counter()
    response = client.get(url, secure=True, **extra)
    assert response.status_code == 200, response.status_code
    first = None
    rows = 0
    for chunk in response.streaming_content:
        if first is None:
            first = time.perf_counter() - started
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    return {"rows": rows - 1, "seconds": elapsed, "rate": (rows - 1) / elapsed, "first": first,
            "rss": peak_rss_mb() - before}


BENCH_PEOPLE = 2_000


def ensure_people(count: int = BENCH_PEOPLE) -> None:
    """The installation's users: an org's people are users (admins, subaccount owners). Added once, kept."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    have = User.objects.filter(username__startswith="bench-person-").count()
    User.objects.bulk_create([User(username=f"bench-person-{n:05}", email=f"person{n}@example.com", password="!")
                              for n in range(have, count)])


def ensure_rate_cards(*organization_ids) -> None:
    """Give each org what a real one has: a rate card in force (SMS in every country, email, WhatsApp per
    category in 30 countries: about 750 rates) and an edit pending for the next day. Added once, kept."""
    from ledger.models import Organization
    from ledger.services import SYSTEM
    from ratecards.countries import countries
    from ratecards.models import CHANNEL_CATEGORIES, RateCardVersion
    from ratecards.services import rate_card_version_create

    codes = list(countries())
    rates = [{"channel": "sms", "country": code, "unit_price": f"0.{100 + index:04d}"} for index, code in enumerate(codes)]
    rates.append({"channel": "email", "country": "", "unit_price": "0.0100"})
    rates += [{"channel": "whatsapp", "country": code, "category": category, "unit_price": "0.5000"}
              for code in codes[:30] for category in sorted(CHANNEL_CATEGORIES["whatsapp"])]
    for organization_id in organization_ids:
        if RateCardVersion.objects.filter(organization_id=organization_id).exists():
            continue
        organization = Organization.objects.get(pk=organization_id)
        rate_card_version_create(actor=SYSTEM, organization=organization, rates=rates, note="bench: in force")
        edited = [{**rate, "unit_price": "0.2000"} if rate["channel"] == "sms" else rate for rate in rates]
        rate_card_version_create(actor=SYSTEM, organization=organization, rates=edited, note="bench: pending")


def measure(runs: int, exports: bool, pages: bool = True) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from apiauth.services import service_token_create
    from ledger.models import Posting

    with connection.cursor() as cursor:
        cursor.execute("SELECT key, value FROM bench_seed")
        seeded = dict(cursor.fetchall())
    hot_org, hot_account, wide_org = seeded["hot_org"], seeded["hot_account"], seeded["wide_org"]
    ensure_rate_cards(hot_org, wide_org)
    ensure_people()
    User = get_user_model()
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "b@example.com", "x")
    client = Client()
    client.force_login(user)
    # An org admin of the 100-account org (Org admin group): their pages ask per-account questions a superuser skips.
    from django.contrib.auth.models import Group

    from ledger.models import Organization
    from ledger.selectors import ROLE_ORG_ADMIN
    admin_user = User.objects.filter(username="bench-orgadmin").first()
    if admin_user is None:
        admin_user = User.objects.create_user("bench-orgadmin", "oa@example.com", "x", is_staff=True)
        admin_user.groups.add(Group.objects.get(name=ROLE_ORG_ADMIN))
        Organization.objects.get(pk=wide_org).admins.add(admin_user)
    admin_client = Client()
    admin_client.force_login(admin_user)
    _, token = service_token_create(name=f"bench {time.time()}", scopes=["read"], all_organizations=True)
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    deep = Posting.objects.filter(account_id=hot_account).order_by("-created_at", "-id").values_list(
        "created_at", "id")[depth := min(1_000_000, int(seeded["postings"]) // 10)]

    def get(url, status=200, as_client=None, **extra):
        def run():
            response = (as_client or client).get(url, secure=True, **extra)
            assert response.status_code == status, (url, response.status_code)
        return run

    from ledger.api.pagination import KeysetPagination
    cursor_value = KeysetPagination._encode([deep[0].isoformat(), deep[1]])
    finance_org = reverse("finance:org_ledger", args=[hot_org])
    finance_account = reverse("finance:account_ledger", args=[hot_account])
    api_ledger = f"/api/v1/accounts/{hot_account}/ledger"
    from django.utils import timezone
    month_ago = (timezone.now() - timedelta(days=60)).date()
    month = f"date_from={month_ago.replace(day=1)}&date_to={(month_ago.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)}"
    as_of = (timezone.now() - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M")
    results = []
    cases = [
        ("admin org dashboard, hot org", get(reverse("admin:ledger_organization_change", args=[hot_org]))),
        *[(f"admin org dashboard, hot org: {name} panel (fetched after the page)",
           get(reverse("admin:ledger_organization_panel", args=[hot_org, name])))
          for name in ("charts", "approvals", "purchases")],
        ("admin org dashboard, hot org, every panel in place (?panels=inline)",
         get(reverse("admin:ledger_organization_change", args=[hot_org]) + "?panels=inline")),
        ("finance ledger page, hot account", get(finance_account)),
        ("finance ledger page, hot org", get(finance_org)),
        ("finance ledger page, hot account, one month", get(f"{finance_account}?{month}")),
        ("finance ledger page, hot account, kind=expiry", get(f"{finance_account}?kind=expiry")),
        ("finance ledger page, 100-account org", get(reverse("finance:org_ledger", args=[wide_org]))),
        ("finance ledger page, hot account, balance as of", get(f"{finance_account}?as_of={as_of}")),
        ("API ledger page 1, hot account", get(api_ledger, **api)),
        (f"API ledger at a deep cursor ({depth:,} back)",
         get(f"{api_ledger}?cursor={cursor_value}", **api)),
        ("reports, hot org, last 12 months", get(reverse("finance:reports", args=[hot_org]))),
        ("org admin: admin org dashboard, 100-account org",
         get(reverse("admin:ledger_organization_change", args=[wide_org]), as_client=admin_client)),
        ("org admin: finance ledger page, 100-account org",
         get(reverse("finance:org_ledger", args=[wide_org]), as_client=admin_client)),
    ]
    from django.test.utils import CaptureQueriesContext

    for name, function in cases if pages else []:
        ms = median_ms(function, runs)
        with CaptureQueriesContext(connection) as queries:  # one more run: the database's share
            function()
        sql_ms = sum(float(query["time"]) for query in queries.captured_queries) * 1000
        line = f"{ms:,.1f} ms ({len(queries)} queries, {sql_ms:,.0f} ms of SQL)"
        print(f"  {name}: {line}", flush=True)
        results.append((name, line))
    if exports:
        for name, url, extra in (("CSV export, finance, hot account",
                                  reverse("finance:account_ledger_csv", args=[hot_account]), {}),
                                 ("CSV export, API, hot account", f"{api_ledger}.csv", api)):
            figures = export(client, url, **extra)
            line = (f"{figures['rows']:,} rows in {figures['seconds']:.1f}s = {figures['rate']:,.0f} rows/s; "
                    f"first row {figures['first'] * 1000:,.0f} ms; peak RSS +{figures['rss']:,.0f} MB")
            print(f"  {name}: {line}", flush=True)
            results.append((name, line))
    return results


def trigger_overhead(rounds: int, charges: int) -> list[tuple[str, str]]:
    """Charges per second on one hot account with the daily totals trigger and without it, alternating.

    Single charges (`charge_create`, the database path, one thread) and batches of 1,000 (`charge_batch`),
    in `rounds` alternating rounds so that the load of the machine falls on both alike; medians.
    """
    from django.db import connection, transaction

    from ledger import services
    from ledger.models import Account

    actor = services.Actor(service="bench")
    org = services.organization_create(actor=actor, name=f"Trigger {time.time()}", currency="INR")
    services.credits_grant(actor=actor, account=org.master_account, amount="100000000", expires_in="never")
    account = Account.objects.select_related("organization").get(pk=org.master_account.pk)
    items = [services.ChargeRequest(channel="sms", unit_price="0.01", traffic="transactional")] * 1000
    rates: dict[str, list[float]] = {"single on": [], "single off": [], "batch on": [], "batch off": []}

    def switch(enabled: bool):
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE ledger_posting {'ENABLE' if enabled else 'DISABLE'} TRIGGER "
                           "ledger_posting_day_totals")

    try:
        for _ in range(rounds):
            for state in ("on", "off"):
                switch(state == "on")
                started = time.perf_counter()
                for _ in range(charges):
                    services.charge_create(actor=actor, account=account, channel="sms", unit_price="0.01",
                                           traffic="transactional")
                rates[f"single {state}"].append(charges / (time.perf_counter() - started))
                started = time.perf_counter()
                services.charge_batch(actor=actor, account=account, items=items)
                rates[f"batch {state}"].append(1000 / (time.perf_counter() - started))
    finally:
        switch(True)
    # The trigger's own cost, isolated: one INSERT of n charges' transactions and postings (as the charge
    # function and the batch write them), rolled back, with the trigger and without it, alternating.
    statement = """
        WITH t AS (
            INSERT INTO ledger_transaction (organization_id, account_id, kind, currency, amount, created_at,
                actor_service, reference, memo, channel, country, category, traffic, period, metadata)
            SELECT %(org)s, %(account)s, 'charge', 'INR', 0.01, now(), 'bench', '', '', 'sms', '', '', '', '', '{}'
            FROM generate_series(1, %(n)s) RETURNING id
        ), p AS (
            INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
            SELECT id, %(account)s, NULL::bigint, -0.01, 0, now() FROM t
            UNION ALL SELECT id, NULL::uuid, %(usage)s, 0.01, NULL, now() FROM t RETURNING 1
        ) SELECT count(*) FROM p"""
    usage = services.system_account("usage", "INR").pk
    statement_ms: dict[tuple[int, str], list[float]] = {}
    for _ in range(20):
        for state in ("on", "off"):
            switch(state == "on")  # invalidates the cached plans: one statement first plans them again
            for warm, n in ((False, 1), (True, 1), (True, 1000)):
                with transaction.atomic():
                    started = time.perf_counter()
                    with connection.cursor() as cursor:
                        cursor.execute(statement, {"org": org.pk, "account": account.pk, "n": n, "usage": usage})
                    if warm:
                        statement_ms.setdefault((n, state), []).append((time.perf_counter() - started) * 1000)
                    transaction.set_rollback(True)
    switch(True)
    results = []
    for n in (1, 1000):
        on, off = statistics.median(statement_ms[(n, "on")]), statistics.median(statement_ms[(n, "off")])
        line = (f"{on:,.2f} ms with the trigger, {off:,.2f} ms without: {on - off:+,.2f} ms per statement "
                f"({(on - off) / n * 1000:,.1f} µs per charge)")
        print(f"  daily totals trigger, INSERT of {n:,} charge(s): {line}", flush=True)
        results.append((f"daily totals trigger, one INSERT of {n:,} charge(s), medians of 20", line))
    for shape in ("single", "batch"):
        on, off = statistics.median(rates[f"{shape} on"]), statistics.median(rates[f"{shape} off"])
        line = (f"{on:,.0f} charges/s with the trigger, {off:,.0f} without: "
                f"{(off - on) / off * 100:+.1f}% cost")
        print(f"  daily totals trigger, {shape} charges: {line}", flush=True)
        results.append((f"daily totals trigger, {'charge_create' if shape == 'single' else 'charge_batch of 1,000'}"
                        f" (medians of {rounds} alternating rounds)", line))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded with this size")
    parser.add_argument("--no-exports", action="store_true")
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument("--trigger-overhead", action="store_true",
                        help="also time charges with and without the daily totals trigger")
    parser.add_argument("--label", default="", help="keep the figures under this label in bench/reads-result.md")
    args = parser.parse_args()
    must_seed = ensure_database(args.postings, args.reuse)
    django.setup()
    from django.core.management import call_command

    from ledger.events import balances_changed

    balances_changed.disconnect(dispatch_uid="alerts.on_balances_changed")
    call_command("migrate", verbosity=0)
    if must_seed:
        seed(args.postings)
    from ledger import daytotals

    started = time.perf_counter()
    rolled = daytotals.roll_months()  # what the nightly job does; nothing once done
    print(f"  rolled up {rolled:,} closed months in {time.perf_counter() - started:.1f}s", flush=True)
    results = measure(args.runs, not args.no_exports, not args.no_pages)
    if args.trigger_overhead:
        results += trigger_overhead(rounds=5, charges=300)
    if args.label:
        table = "\n".join(f"| {name} | {value} |" for name, value in results)
        block = (f"### {args.label} ({args.postings:,} postings, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"
                 f"\n\n| read path | median of {args.runs} (SQL of one more run) |\n| --- | --- |\n{table}\n")
        kept = RESULT.read_text().split("### ") if RESULT.exists() else []
        kept = [part for part in kept if part.strip() and not part.startswith(f"{args.label} (")]
        RESULT.write_text("".join("### " + part for part in kept) + block)


if __name__ == "__main__":
    main()

"""The write paths against their references, side by side in one sitting (issue 19; `make bench` runs it).

Each round measures, one after the other on the same machine and PostgreSQL server:

- the physical limit of a single charge: `SELECT * FROM ledger_charge(...)` called straight from
  psycopg (one round trip, prepared, autocommit) with the same arguments the service passes: the same
  database effect as `charge_create` (idempotency key, lock, rules, lots, transaction, postings);
- `ledger.services.charge_create` with an idempotency key (as the API calls it), same hot account,
  at 1 and 4 threads (one connection each), alternating with the limit at the same thread count;
- django-hordak's `Account.transfer_to` (bench/hordak_transfers.py, its own virtual environment
  var/hordak-venv and its own database), at 1 and 4 threads;
- a batch of 1,000 charges: `ledger.services.charge_batch` against one locked, set-based statement
  writing the same rows (1,000 transactions, 2,000 postings, the lot, the balance, the key's record);
- `POST /api/v1/charges` under gunicorn (creditsite/gunicorn.conf.py, 4 workers, production settings
  but plain HTTP) driven by wrk from Debian's packages at 1, 8 and 32 connections, every request with its
  own idempotency key on one hot account: requests/s, p50 and p99, and the CPU each program spent per
  request; then `POST /api/v1/charges/batch` with 100 and 1,000 items at 4 connections.

The figures are medians over the rounds; ratios compare figures of the same round. The table is written
to bench/writes-result.md (BENCHMARKS.md includes it). Nothing here runs in the test suite.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_writes .venv/bin/python bench/writes.py [--rounds 3]

The database used is DATABASE_URL's name + "_wbench" (dropped and created), django-hordak's the same +
"_hordak"; Redis: BENCH_REDIS_URL (default db 14, as bench/run.py), flushed.
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/creditsite").split("?")[0]
DB_URL = BASE_URL + "_wbench"
HORDAK_URL = BASE_URL + "_hordak"
os.environ["DATABASE_URL"] = DB_URL
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")  # as bench/run.py
HORDAK_VENV = ROOT / "var" / "hordak-venv"
RESULT = Path(__file__).resolve().parent / "writes-result.md"

import django  # noqa: E402
import psycopg  # noqa: E402

HTTP_CONNECTIONS = (1, 8, 32)  # wrk connections for single charges
BATCH_SIZES = (100, 1000)  # items per POST /api/v1/charges/batch
BATCH_CONNECTIONS = 4

# The programs whose CPU time per request the HTTP figures report (by the process name in /proc/<pid>/stat).
CPU_PROGRAMS = ("gunicorn", "postgres", "redis-server", "wrk", "celery")


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) used so far by each process alive now: pid -> (name, seconds)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2:].split()
        name = text[text.index("(") + 1:text.rindex(")")]
        if name == "postgres" and _serves_another_database(entry.path):
            name = "postgres (other databases)"
        found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    return found


def _serves_another_database(proc: str) -> bool:
    """Whether a postgres process is a backend of a database other than the bench's: another session's work on
    the same server is not charged to the requests measured here (the server's own background processes, which
    serve every database, are)."""
    try:
        title = Path(proc, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    # a backend's title: "postgres: 15/main: <user> <database> <host>(<port>)|[local] <state>"
    match = re.match(r"postgres: [^:]+: (\S+) (\S+) (\[local\]|\S+\(\d+\))", title)
    return bool(match) and match[2] != DB_URL.rsplit("/", 1)[1]


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy so far (/proc/stat: all but idle and iowait)."""
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_used_since(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds used since `before` by the processes alive now, added up by name (a process that exited
    meanwhile is not counted: wrk, which exits, is counted from this process's children's usage)."""
    totals: dict[str, float] = {}
    for pid, (name, seconds) in cpu_by_process().items():
        earlier_name, earlier = before.get(pid, (name, 0.0))
        totals[name] = totals.get(name, 0.0) + seconds - (earlier if earlier_name == name else 0.0)
    return totals


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def threaded(threads: int, per_thread: int, work, prepare=None) -> float:
    """Run work(state, i) per_thread times in each of `threads` threads (started together); returns ops/s."""
    barrier = threading.Barrier(threads + 1)
    errors: list = []

    def run(index):
        try:
            state = prepare(index) if prepare else None
            barrier.wait()
            for i in range(per_thread):
                work(state, index, i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()
        finally:
            from django.db import connection

            connection.close()
            if isinstance(state, psycopg.Connection):
                state.close()

    pool = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return threads * per_thread / (time.perf_counter() - started)


class Bench:
    def __init__(self, args):
        self.args = args
        self.figures: dict[str, list[float]] = {}
        self.run_id = uuid.uuid4().hex[:8]

    def add(self, name: str, value: float) -> None:
        self.figures.setdefault(name, []).append(value)
        print(f"  {name}: {value:,.1f}", flush=True)

    # --- setup -------------------------------------------------------------------------------------

    def setup(self) -> None:
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
        recreate_database(DB_URL)
        django.setup()
        from django.core.management import call_command

        from apiauth.services import service_token_create
        from ledger import services
        from ledger.models import Account, SystemAccount
        from ledger.services.book import system_account
        from ratecards.services import rate_card_version_create

        call_command("migrate", verbosity=0)
        self.actor = services.Actor(service="bench")
        org = services.organization_create(actor=self.actor, name="Bench", currency="USD")
        services.credits_grant(actor=self.actor, account=org.master_account, amount="100000000", expires_in="never")
        self.account = Account.objects.select_related("organization").get(pk=org.master_account.pk)
        rate_card_version_create(actor=self.actor, organization=org, rates=[
            {"channel": "sms", "country": None, "category": None, "unit_price": "0.01"}])
        self.usage = system_account(SystemAccount.Code.USAGE, "USD").pk
        self.expired = system_account(SystemAccount.Code.EXPIRED, "USD").pk
        _, self.token = service_token_create(name="bench-api", scopes=["charge"], all_organizations=True,
                                             throttle_rate="1000000/min")
        if self.args.hordak:
            self.hordak_setup()
        # As a gunicorn worker does once the application is loaded (creditsite/gunicorn.conf.py), when the
        # code under test has that setting; a Celery worker runs the alert checks the charges queue.
        if "gc.freeze" in (ROOT / "creditsite" / "gunicorn.conf.py").read_text():
            import gc

            gc.freeze()
        self.worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "creditsite", "worker", "-Q", "alerts", "--pool",
             "solo", "--loglevel", "WARNING"], cwd=ROOT, env={**os.environ, "DEBUG": "0"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    # --- single charges ----------------------------------------------------------------------------

    def limit_single(self, threads: int, per_thread: int) -> float:
        """ledger_charge() straight from psycopg: the database effect of one charge_create, one round trip."""
        from ledger.services.charge_function import CHARGE_SQL

        sql = CHARGE_SQL.replace("%s", "%s")
        account, org = self.account.pk, self.account.organization_id
        tag = uuid.uuid4().hex[:8]

        def work(conn, index, i):
            conn.execute(sql, [account, None, org, "USD", "charge", "0.01", "0.01", 1, "promotional", "sms", "",
                               "", "", None, None, None, "bench", None, self.usage, self.expired,
                               "service:bench", f"L{tag}-{index}-{i}", "charge_create", "f" * 64],
                         prepare=True).fetchone()

        return threaded(threads, per_thread, work, prepare=lambda index: psycopg.connect(DB_URL, autocommit=True))

    def service_single(self, threads: int, per_thread: int) -> float:
        from ledger import services
        from ledger.models import Account

        tag = uuid.uuid4().hex[:8]

        def work(account, index, i):
            services.charge_create(actor=self.actor, account=account, channel="sms", unit_price="0.01",
                                   idempotency_key=f"S{tag}-{index}-{i}")

        return threaded(threads, per_thread, work,
                        prepare=lambda index: Account.objects.select_related("organization").get(pk=self.account.pk))

    # --- batches -----------------------------------------------------------------------------------

    def limit_batch(self, size: int) -> float:
        """One transaction: lock the account, then one set-based statement writes the batch's rows."""
        from django.db import connection, transaction

        key = f"B{uuid.uuid4().hex}"
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT balance FROM ledger_account WHERE id = %s FOR UPDATE", [self.account.pk])
            cursor.execute("""
            WITH k AS (
                INSERT INTO ledger_idempotencyrecord (caller, key, operation, fingerprint, result_model, result_id,
                                                      created_at)
                VALUES ('service:bench', %(key)s, 'charge_batch', %(fp)s, '', '', now()) RETURNING id
            ), lot AS (
                SELECT id FROM ledger_creditlot WHERE account_id = %(account)s AND remaining > 0
                ORDER BY expires_at NULLS LAST, granted_at, id LIMIT 1 FOR UPDATE
            ), items AS (
                SELECT g, nextval(pg_get_serial_sequence('ledger_transaction', 'id')) AS id
                FROM generate_series(1, %(n)s) g
            ), t AS (
                INSERT INTO ledger_transaction (id, organization_id, account_id, kind, currency, amount, created_at,
                    actor_service, reference, memo, channel, country, category, traffic, quantity, unit_price,
                    period, metadata)
                SELECT id, %(org)s, %(account)s, 'charge', 'USD', 0.01, now(), 'bench', '', '', 'sms', '', '',
                       'promotional', 1, 0.01, '', jsonb_build_object('available_after', '0')
                FROM items RETURNING id
            ), p AS (
                INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after,
                                            created_at)
                SELECT i.id, %(account)s, NULL, -0.01, a.balance - 0.01 * i.g, now()
                FROM items i CROSS JOIN (SELECT balance FROM ledger_account WHERE id = %(account)s) a
                UNION ALL SELECT i.id, NULL, %(usage)s, 0.01, NULL, now() FROM items i
            ), l AS (
                UPDATE ledger_creditlot SET remaining = remaining - 0.01 * %(n)s WHERE id = (SELECT id FROM lot)
            ), a AS (
                UPDATE ledger_account SET balance = balance - 0.01 * %(n)s WHERE id = %(account)s
            )
            UPDATE ledger_idempotencyrecord r SET result_model = 'batch',
                result_data = (SELECT jsonb_build_object('results', jsonb_agg(jsonb_build_object('id', id)))
                               FROM t)
            FROM k WHERE r.id = k.id
            """, {"key": key, "fp": "f" * 64, "account": self.account.pk, "org": self.account.organization_id,
                  "n": size, "usage": self.usage})
        return size / (time.perf_counter() - started)

    def service_batch(self, size: int) -> float:
        from ledger import services

        items = [services.ChargeRequest(channel="sms", unit_price="0.01", quantity=1) for _ in range(size)]
        started = time.perf_counter()
        result = services.charge_batch(actor=self.actor, account=self.account, items=items,
                                       idempotency_key=f"SB{uuid.uuid4().hex}")
        elapsed = time.perf_counter() - started
        assert all(item.transaction is not None for item in result.items)
        return size / elapsed

    # --- django-hordak -----------------------------------------------------------------------------

    def hordak_setup(self) -> None:
        python = HORDAK_VENV / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(HORDAK_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "django-hordak", "psycopg[binary]"], check=True)
        subprocess.run([str(python), str(ROOT / "bench" / "hordak_transfers.py"), "setup",
                        "--database-url", HORDAK_URL], check=True)

    def hordak(self, threads: int, count: int) -> float:
        out = subprocess.run([str(HORDAK_VENV / "bin" / "python"), str(ROOT / "bench" / "hordak_transfers.py"), "run",
                              "--database-url", HORDAK_URL, "--threads", str(threads), "--count", str(count)],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])["per_second"]

    # --- HTTP under gunicorn -----------------------------------------------------------------------

    def gunicorn_start(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        metrics = tempfile.mkdtemp(prefix="bench-writes-metrics-")
        env = {**os.environ, "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "GUNICORN_BIND": f"127.0.0.1:{port}",
               "GUNICORN_WORKERS": str(self.args.workers), "PROMETHEUS_MULTIPROC_DIR": metrics,
               "ALLOWED_HOSTS": "127.0.0.1,localhost"}
        log = open(ROOT / "var" / "bench-gunicorn.log", "w")  # noqa: SIM115 - closed with the server
        process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "creditsite/gunicorn.conf.py",
                                    "creditsite.wsgi"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        self.gunicorn = (process, port, metrics, log)
        import urllib.request

        for _ in range(300):  # the workers answer (they import the application after the port is open)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        # warm every worker up (imports, connections, caches)
        self.wrk(8, 3, "warm")

    def gunicorn_stop(self) -> None:
        process, _, metrics, log = self.gunicorn
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(metrics, ignore_errors=True)

    def wrk(self, connections: int, seconds: int, label: str, batch: int = 0) -> dict:
        """wrk against `POST /api/v1/charges` (or, with `batch`, `/charges/batch` of that many items), each request
        with its own idempotency key: requests/s, p50, p99 (ms) and CPU per request by program."""
        _, port, _, _ = self.gunicorn
        item = {"channel": "sms", "country": "IN", "traffic": "transactional"}
        path = "/api/v1/charges/batch" if batch else "/api/v1/charges"
        body = json.dumps({"account": str(self.account.pk), "items": [item] * batch} if batch
                          else {"account": str(self.account.pk), **item})
        # Every request its own key: the prefix is new for every call (labels repeat across rounds), and
        # `tid` is a global, set in each wrk thread by setup() (a `local tid` would shadow it: every thread
        # would send the same keys and half the requests would be replays). Checked after the run.
        prefix = f"{self.run_id}-{label}-{uuid.uuid4().hex[:8]}-"
        script = f"""
local counter = 0
local next_tid = 0
tid = 0
function setup(thread) thread:set("tid", next_tid); next_tid = next_tid + 1 end
function request()
  counter = counter + 1
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer {self.token}", ["X-Forwarded-Proto"] = "https",
    ["Idempotency-Key"] = "{prefix}" .. tid .. "-" .. counter}}, '{body}')
end
"""
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
        threads = min(connections, 2)
        cpu_before, children_before = cpu_by_process(), resource.getrusage(resource.RUSAGE_CHILDREN)
        busy_before = machine_busy_seconds()
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
                              "-s", handle.name, f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                             check=True).stdout
        cpu = cpu_used_since(cpu_before)
        busy = machine_busy_seconds() - busy_before
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu["wrk"] = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
        os.unlink(handle.name)
        if "Non-2xx" in out:
            raise RuntimeError(f"wrk saw errors:\n{out}")

        def latency(pct):
            match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            value, unit = float(match[1]), match[2]
            return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

        requests = max(int(re.search(r"(\d+) requests in", out)[1]), 1)
        if label != "warm":
            self.check_keys_unique(prefix, requests, connections)
        per_request = {f"cpu {name}": cpu.get(name, 0) / requests * 1000 for name in CPU_PROGRAMS}
        per_request["cpu all"] = busy / requests * 1000
        return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]), "p50": latency(50),
                "p99": latency(99), **per_request}

    def check_keys_unique(self, prefix: str, requests: int, connections: int) -> None:
        """Refuse a run whose requests were not all first uses of their keys (a replay costs less and would
        flatter the figures): one idempotency record per request wrk counted, plus at most the requests still
        in flight when it stopped counting."""
        from ledger.models import IdempotencyRecord

        records = IdempotencyRecord.objects.filter(key__startswith=prefix).count()
        if not requests <= records <= requests + connections:
            raise RuntimeError(f"{requests} requests made {records} idempotency records: keys were reused")

    # --- the sitting -------------------------------------------------------------------------------

    def round(self) -> None:
        n = self.args.count
        for threads in (1, 4):
            self.add(f"limit single {threads}", self.limit_single(threads, n // threads))
            self.add(f"service single {threads}", self.service_single(threads, n // threads))
            if self.args.hordak:
                self.add(f"hordak {threads}", self.hordak(threads, n // 2))
        for _ in range(2):
            self.add("limit batch", self.limit_batch(1000))
            self.add("service batch", self.service_batch(1000))
        if self.args.http:
            for connections in HTTP_CONNECTIONS:
                result = self.wrk(connections, self.args.seconds, f"c{connections}")
                for key, value in result.items():
                    self.add(f"http {connections} {key}", value)
            for size in BATCH_SIZES:
                result = self.wrk(BATCH_CONNECTIONS, self.args.seconds, f"b{size}", batch=size)
                for key in ("rps", "p50", "p99"):
                    self.add(f"http batch {size} {key}", result[key])

    def median(self, name: str) -> float:
        return statistics.median(self.figures[name])

    def ratio(self, top: str, bottom: str) -> float:
        return statistics.median(a / b for a, b in zip(self.figures[top], self.figures[bottom], strict=True))

    def report(self) -> str:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = cursor.fetchone()[0]
        m, r = self.median, self.ratio
        rounds = self.args.rounds
        lines = [
            f"- when: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit "
            f"`{subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()}`"
            f"; {rounds} rounds, medians (ratios: median of the per-round ratios)",
            f"- machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, Python "
            f"{platform.python_version()}, PostgreSQL {pg} (packaged defaults) on the same machine",
            "",
            "| path | ours | reference in the same run | ratio | target |",
            "| --- | --- | --- | --- | --- |",
        ]
        for threads in (1, 4):
            lines.append(
                f"| single charge, hot account, {threads} connection{'s' if threads > 1 else ''} | charge_create "
                f"{m(f'service single {threads}'):,.0f}/s | ledger_charge() from psycopg "
                f"{m(f'limit single {threads}'):,.0f}/s | {r(f'service single {threads}', f'limit single {threads}'):.0%} "
                f"| >= 60% |")
            if self.args.hordak:
                lines.append(
                    f"| same vs django-hordak transfer_to, {threads} thread{'s' if threads > 1 else ''} | "
                    f"{m(f'service single {threads}'):,.0f}/s | {m(f'hordak {threads}'):,.0f}/s | "
                    f"{r(f'service single {threads}', f'hordak {threads}'):.2f}x | >= 3x |")
        lines.append(f"| batch of 1,000 charges | charge_batch {m('service batch'):,.0f} charges/s | one locked "
                     f"set-based statement {m('limit batch'):,.0f} charges/s | "
                     f"{r('service batch', 'limit batch'):.0%} | >= 50% |")
        if self.args.http:
            for connections, target in ((1, "p50 < 5 ms"), (8, ">= 600 req/s"), (32, "")):
                lines.append(
                    f"| POST /api/v1/charges, gunicorn {self.args.workers} workers, wrk {connections} connection"
                    f"{'s' if connections > 1 else ''} | {m(f'http {connections} rps'):,.0f} req/s, p50 "
                    f"{m(f'http {connections} p50'):.1f} ms, p99 {m(f'http {connections} p99'):.1f} ms | "
                    f"limit at {connections if connections == 1 else 4} connection(s): "
                    f"{m(f'limit single {1 if connections == 1 else 4}'):,.0f}/s | "
                    f"{m(f'http {connections} rps') / m(f'limit single {1 if connections == 1 else 4}'):.0%} | "
                    f"{target} |")
        if self.args.http:
            for size in BATCH_SIZES:
                lines.append(
                    f"| POST /api/v1/charges/batch, {size:,} items, wrk {BATCH_CONNECTIONS} connections | "
                    f"{m(f'http batch {size} rps'):,.1f} req/s = {m(f'http batch {size} rps') * size:,.0f} charges/s, "
                    f"p50 {m(f'http batch {size} p50'):.1f} ms, p99 {m(f'http batch {size} p99'):.1f} ms | "
                    f"charge_batch in-process: {m('service batch'):,.0f} charges/s | "
                    f"{m(f'http batch {size} rps') * size / m('service batch'):.0%} | |")
            for connections in HTTP_CONNECTIONS:
                parts = ", ".join(f"{name} {m(f'http {connections} cpu {name}'):.2f}" for name in CPU_PROGRAMS)
                total = m(f"http {connections} cpu all")
                lines.append(
                    f"\nCPU per request at {connections} connection{'s' if connections > 1 else ''} (ms of user + "
                    f"system time during the wrk run, /proc; postgres: the bench database's backends and the server's "
                    f"own processes): {parts}; the whole machine {total:.2f} (/proc/stat, other sessions included): "
                    f"{os.cpu_count()} cores allow at most {os.cpu_count() * 1000 / total:,.0f} requests/s.")
        lines.append("")
        lines.append("Every round: " + "; ".join(
            f"{name} " + ", ".join(f"{v:,.1f}" for v in values) for name, values in self.figures.items()))
        return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=1200, help="single charges per measurement")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per HTTP measurement")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--no-http", dest="http", action="store_false")
    parser.add_argument("--no-hordak", dest="hordak", action="store_false")
    parser.add_argument("--no-record", dest="record", action="store_false")
    args = parser.parse_args()
    bench = Bench(args)
    bench.setup()
    try:
        if args.http:
            bench.gunicorn_start()
        for index in range(args.rounds):
            print(f"round {index + 1}/{args.rounds}", flush=True)
            bench.round()
    finally:  # the servers go with the bench, even when it fails (a crash in the warm-up left them running)
        if getattr(bench, "gunicorn", None):
            bench.gunicorn_stop()
        os.killpg(bench.worker.pid, signal.SIGTERM)
        bench.worker.wait(timeout=30)
    report = bench.report()
    print(report)
    if args.record:
        RESULT.write_text(report)


if __name__ == "__main__":
    main()

"""`make chaos`: kill and restart the parts under load and check that no money is lost, doubled or half-written.

Starts its own PostgreSQL cluster (port 55433), Redis (6391), gunicorn (8112) and Celery worker, all on
loopback, migrates and seeds through the services, then runs each scenario and prints PASS/FAIL with
its figures; `--write-report` puts the figures into docs/reliability.md. Exits non-zero if any scenario
failed. Bounded: about four minutes with the default 75-second soak.

    python -m tests.chaos.run [--soak-seconds 75] [--only worker_kill,postgres_restart,...] [--write-report]
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.servers import (
    ROOT,
    Gunicorn,
    PostgresCluster,
    RedisServer,
    platform_token,
    request,
    server_env,
    wait_for,
)

PG_PORT, REDIS_PORT, WEB_PORT = 55433, 6391, 8112
VISIBILITY_TIMEOUT = 10  # seconds: the worker-kill scenario waits for a redelivery, so it is short here
REPORT = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- chaos:begin -->", "<!-- chaos:end -->"
CONTRACT_ERRORS = {503: "service_unavailable", 500: "server_error"}


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- an HTTP client that retries with the same idempotency key ----------------------------------


@dataclass
class Traffic:
    """What the clients saw: every attempt's outcome, contract breaches, and the keys acknowledged."""

    attempts: Counter = field(default_factory=Counter)
    breaches: list = field(default_factory=list)
    acked: dict = field(default_factory=dict)  # key -> (kind, account, response body)
    given_up: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, label: str, seconds: float | None = None) -> None:
        with self.lock:
            self.attempts[label] += 1
            if seconds is not None:
                self.latencies.append(seconds)


class Api:
    def __init__(self, port: int, token: str, traffic: Traffic):
        self.port, self.token, self.traffic = port, token, traffic

    def call(self, method: str, path: str, body=None, key: str | None = None, retry_for: float = 60.0):
        """Send until a final answer (2xx/4xx) or `retry_for` seconds; 5xx and dropped connections retry the same key."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        deadline, pause = time.monotonic() + retry_for, 0.05
        while True:
            started = time.monotonic()
            try:
                status, response_headers, content = request(self.port, method, path, body, headers, timeout=30)
            except OSError as exc:  # reset by a killed worker, refused while restarting
                self.traffic.seen(f"connection error ({type(exc).__name__})")
                status = None
            else:
                self.traffic.seen(str(status), time.monotonic() - started)
                if status >= 500:
                    self._check_contract(method, path, status, response_headers, content)
            if status is not None and (status < 500 and status != 429):
                return status, _json(content)
            if time.monotonic() > deadline:
                return None, None
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _check_contract(self, method, path, status, headers, content) -> None:
        body = _json(content)
        expected = CONTRACT_ERRORS.get(status)
        ok = (isinstance(body, dict) and body.get("code") == expected
              and "Traceback" not in content.decode(errors="replace")
              and (status != 503 or "Retry-After" in headers))
        if not ok:
            with self.traffic.lock:
                if len(self.traffic.breaches) < 20:
                    kind = headers.get("Content-Type", "?")
                    self.traffic.breaches.append(f"{method} {path} -> {status} {kind}: {content[:120]!r}")
                self.traffic.attempts[f"breach {status}"] += 1


def _json(content: bytes):
    try:
        return json.loads(content)
    except ValueError:
        return None


def run_for(seconds: float, workers: list, *, events=()) -> None:
    """Run client loops (each `loop(stop)`) in threads while `events` ((at_second, action), ...) happen."""
    stop = threading.Event()
    threads = [threading.Thread(target=loop, args=(stop,), daemon=True) for loop in workers]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    for at, action in sorted(events, key=lambda event: event[0]):
        time.sleep(max(0.0, started + at - time.monotonic()))
        action()
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    stop.set()
    for thread in threads:
        thread.join(120)


# --- the world: servers, data and checks -----------------------------------------------------------


class World:
    def __init__(self, soak_seconds: float):
        self.soak_seconds = soak_seconds
        self.pg = PostgresCluster(PG_PORT)
        self.redis = RedisServer(REDIS_PORT)
        self.web = self.worker = None
        self.logs = Path(os.environ.get("CHAOS_LOG_DIR", "/tmp")) / f"chaos-{uuid.uuid4().hex[:6]}"
        self.logs.mkdir(parents=True, exist_ok=True)

    def env(self, **extra) -> dict:
        return server_env(self.pg.url, self.redis.url, CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT, **extra)

    def start(self) -> None:
        log("starting PostgreSQL (55433) and Redis (6391)")
        self.pg.init()
        self.redis.start()
        os.environ.update(self.env())
        import django

        django.setup()
        from django.core.management import call_command

        log("migrating")
        call_command("migrate", verbosity=0)
        self.seed()
        log("starting gunicorn (2 workers, persistent connections) and a Celery worker")
        self.web = Gunicorn(WEB_PORT, self.env(CONN_MAX_AGE=60), workers=2, log=self.logs / "gunicorn.log").start()
        self.start_worker()

    def start_worker(self) -> None:
        """Start a Celery worker on every queue, kept running by a supervisor thread as systemd would."""
        path = self.logs / "worker.log"
        offset = path.stat().st_size if path.exists() else 0
        self.worker_log = open(path, "a")  # noqa: SIM115 - closed in kill_worker()
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "creditsite", "worker", "-Q", "jobs,alerts,webhooks,payments,default",
             "-c", "2", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"],
            # INFO: the worker's "ready." line (and its broker reconnections) reach its log; the project's
            # logging config (creditsite.logs, used by workers since the ops merge) filters them at WARNING.
            cwd=ROOT, env=self.env(CONN_MAX_AGE=0, LOG_LEVEL="INFO"), stdout=self.worker_log, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for(lambda: "ready." in path.read_text()[offset:], 60, "celery worker")
        if not getattr(self, "supervisor", None):
            self.worker_restarts, self.supervising = 0, True
            self.supervisor = threading.Thread(target=self._supervise, daemon=True)
            self.supervisor.start()

    def _supervise(self) -> None:
        """Restart the worker when it exits by itself (kombu may exit on a broker loss: README, "Production")."""
        while True:  # a daemon thread: it ends with the suite
            worker = self.worker
            if worker is not None and worker.poll() is not None and self.supervising:
                log(f"the Celery worker exited by itself (code {worker.returncode}): the supervisor restarts it")
                self.worker_restarts += 1
                self.worker_log.close()
                self.worker = None
                with suppress(Exception):
                    self.start_worker()
            time.sleep(0.5)

    def kill_worker(self, supervise_after: bool = True) -> None:
        """SIGKILL the whole worker (main process and pool): what an OOM kill or a lost machine does."""
        self.supervising = False
        worker, self.worker = self.worker, None
        if worker is not None:
            with suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
            self.worker_log.close()
        self.supervising = supervise_after

    def stop(self) -> None:
        for action in (lambda: self.kill_worker(supervise_after=False), lambda: self.web and self.web.stop(),
                       self.redis.stop, self.pg.destroy):
            with suppress(Exception):
                action()

    def seed(self) -> None:
        """Orgs with funded masters and own subaccounts, a rate card, a token, a staff session; lots due to expire."""
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.contrib.sessions.backends.db import SessionStore

        from alerts.models import AlertSettings
        from ledger import services
        from ratecards.services import rate_card_version_create

        log("seeding orgs, accounts, a token and lots due to expire")
        system = services.SYSTEM
        rates = [{"channel": "sms", "country": None, "category": None, "unit_price": "0.5"}]
        self.accounts, self.masters, self.subs = [], [], []
        for index in range(12):
            org = services.organization_create(actor=system, name=f"Chaos {index}", currency="INR",
                                               timezone_name="Asia/Kolkata")
            rate_card_version_create(actor=system, organization=org, rates=rates)
            master = org.master_account
            services.credits_grant(actor=system, account=master, amount="1000000", expires_in="never")
            subs = [services.account_create(actor=system, organization=org, name=f"Team {k}") for k in range(2)]
            for sub in subs:
                services.credits_grant(actor=system, account=sub, amount="1000", expires_in="never")
            self.masters.append(master)
            self.subs.append(subs)
            self.accounts += [master, *subs]
        low = services.organization_create(actor=system, name="Low Co", currency="INR", timezone_name="Asia/Kolkata")
        rate_card_version_create(actor=system, organization=low, rates=rates)
        services.credits_grant(actor=system, account=low.master_account, amount="300", expires_in="never")
        AlertSettings.objects.create(organization=low, low_credit_threshold=Decimal("100"),
                                     recipients=["ops@example.com"])
        self.low = low.master_account

        expiring = services.organization_create(actor=system, name="Expiring Co", currency="INR",
                                                timezone_name="Asia/Kolkata")
        past = datetime.now(UTC) - timedelta(days=40)
        self.expiring_ids = []
        for index in range(1100):  # two chunks of the set-based expiry (1,000 accounts each)
            account = services.account_create(actor=system, organization=expiring, name=f"Sender {index}")
            services.credits_grant(actor=system, account=account, amount="10", expires_in="1M", at=past)
            self.expiring_ids.append(account.pk)

        self.token = platform_token("chaos", ["manage"], throttle_rate="100000/min")
        staff = get_user_model().objects.create_user("chaos-staff", password="x", is_staff=True)
        staff.groups.add(Group.objects.get(name="Platform staff"))
        session = SessionStore()
        session.update({"_auth_user_id": str(staff.pk), "_auth_user_hash": staff.get_session_auth_hash(),
                        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend"})
        session.create()
        self.cookie = f"sessionid={session.session_key}"
        assert settings.SECRET_KEY == self.env()["SECRET_KEY"]

    @staticmethod
    def fresh_connection() -> None:
        from django.db import connections

        connections.close_all()

    def ledger_problems(self) -> list[str]:
        from ledger.invariants import check_invariants

        self.fresh_connection()
        return check_invariants()

    def references(self, keys, batch=False) -> Counter:
        """How many charge transactions carry each key as their reference (for a batch: key:index)."""
        from django.db import connection

        self.fresh_connection()
        counts: Counter = Counter()
        with connection.cursor() as cursor:
            if batch:
                cursor.execute("SELECT split_part(reference, ':', 1), count(*) FROM ledger_transaction "
                               "WHERE kind = 'charge' AND split_part(reference, ':', 1) = ANY(%s) GROUP BY 1",
                               [list(keys)])
            else:
                cursor.execute("SELECT reference, count(*) FROM ledger_transaction WHERE kind = 'charge' "
                               "AND reference = ANY(%s) GROUP BY 1", [list(keys)])
            counts.update(dict(cursor.fetchall()))
        return counts


# --- client loops -------------------------------------------------------------------------------------


def charge_loop(api: Api, accounts, traffic: Traffic, label: str, pause: float = 0.0):
    def loop(stop):
        while not stop.is_set():
            account = random.choice(accounts)
            key = f"{label}-{uuid.uuid4().hex[:20]}"
            status, body = api.call("POST", "/api/v1/charges", {
                "account": str(account.pk), "channel": "sms", "quantity": random.randint(1, 4),
                "traffic": "transactional", "reference": key}, key=key)
            with traffic.lock:
                if status == 201:
                    traffic.acked[key] = ("charge", account.pk, body)
                else:
                    traffic.given_up[key] = status
            time.sleep(pause)
    return loop


def batch_loop(api: Api, accounts, traffic: Traffic, label: str):
    def loop(stop):
        while not stop.is_set():
            account = random.choice(accounts)
            key = f"{label}{uuid.uuid4().hex[:16]}"
            items = [{"channel": "sms", "traffic": "transactional", "reference": f"{key}:{index}"}
                     for index in range(1000)]
            status, body = api.call("POST", "/api/v1/charges/batch",
                                    {"account": str(account.pk), "items": items, "atomic": True}, key=key)
            with traffic.lock:
                if status == 200:
                    traffic.acked[key] = ("batch", account.pk, body)
                else:
                    traffic.given_up[key] = status
    return loop


def exactly_once(world: World, traffic: Traffic) -> tuple[list[str], dict]:
    """Every acknowledged charge is in the ledger once, every batch all-or-nothing; the ledger is sound."""
    problems = []
    charges = {key for key, value in traffic.acked.items() if value[0] == "charge"}
    batches = {key for key, value in traffic.acked.items() if value[0] == "batch"}
    counts = world.references(charges | set(traffic.given_up))
    lost = [key for key in charges if counts[key] == 0]
    doubled = [key for key, count in counts.items() if count > 1]
    problems += [f"{len(lost)} acknowledged charge(s) missing from the ledger"] if lost else []
    problems += [f"{len(doubled)} charge(s) in the ledger more than once"] if doubled else []
    batch_counts = world.references(batches | set(traffic.given_up), batch=True)
    partial = {key: count for key, count in batch_counts.items() if count not in (0, 1000)}
    missing = [key for key in batches if batch_counts[key] != 1000]
    problems += [f"batches partly written: {partial}"] if partial else []
    problems += [f"{len(missing)} acknowledged batch(es) not fully in the ledger"] if missing else []
    ledger = world.ledger_problems()
    problems += [f"check_ledger: {line}" for line in ledger[:5]]
    figures = {"charges acknowledged": len(charges), "batches acknowledged (1,000 items)": len(batches),
               "requests given up": len(traffic.given_up), "lost": len(lost), "doubled": len(doubled),
               "check_ledger violations": len(ledger)}
    return problems, figures


def attempts_text(traffic: Traffic) -> str:
    return ", ".join(f"{label}: {count}" for label, count in sorted(traffic.attempts.items()))


def percentile(values, fraction: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else 0.0


# --- scenarios ---------------------------------------------------------------------------------------


def scenario_worker_kill(world: World) -> tuple[list[str], dict]:
    """SIGKILL of gunicorn workers while charges and 1,000-item batches flow; clients retry with their keys."""
    traffic = Traffic()
    api = Api(WEB_PORT, world.token, traffic)
    kills = []

    def kill():
        pids = world.web.worker_pids()
        if pids:
            victim = random.choice(pids)
            os.kill(victim, signal.SIGKILL)
            kills.append(victim)

    loops = [charge_loop(api, world.accounts, traffic, "wk") for _ in range(3)]
    loops.append(batch_loop(api, world.masters, traffic, "wkb"))
    run_for(17, loops, events=[(2 + 3 * n, kill) for n in range(5)])
    problems, figures = exactly_once(world, traffic)
    if traffic.given_up:
        problems.append(f"{len(traffic.given_up)} request(s) never got an answer within 60 s of retries")
    figures.update({"gunicorn workers SIGKILLed": len(kills), "attempts": attempts_text(traffic),
                    "latency p50 / max (s)": f"{percentile(traffic.latencies, .5):.3f} / "
                                             f"{max(traffic.latencies, default=0):.3f}"})
    return problems, figures


def scenario_postgres_restart(world: World) -> tuple[list[str], dict]:
    """PostgreSQL restarted (fast, then immediate) under load: 503 JSON while down, recovery by itself, no loss."""
    traffic = Traffic()
    api = Api(WEB_PORT, world.token, traffic)
    restarts = {}

    def restart(mode):
        def action():
            started = time.monotonic()
            world.pg.restart(mode)
            restarts[mode] = {"took": time.monotonic() - started, "done_at": time.monotonic()}
        return action

    loops = [charge_loop(api, world.accounts, traffic, "pg") for _ in range(3)]
    run_for(20, loops, events=[(3, restart("fast")), (11, restart("immediate"))])
    problems, figures = exactly_once(world, traffic)
    if traffic.breaches:
        problems.append(f"{sum(v for k, v in traffic.attempts.items() if k.startswith('breach'))} error "
                        f"response(s) outside the contract (want 503 service_unavailable JSON with Retry-After), "
                        f"e.g. {traffic.breaches[0]}")
    if traffic.given_up:
        problems.append(f"{len(traffic.given_up)} request(s) never recovered within 60 s")
    figures.update({f"restart {mode} took (s)": f"{value['took']:.1f}" for mode, value in restarts.items()})
    figures["attempts"] = attempts_text(traffic)
    return problems, figures


def scenario_redis_stop(world: World) -> tuple[list[str], dict]:
    """Redis stopped under load: charges, holds and the admin keep working; health degraded; alerts after."""
    from alerts import jobs
    from alerts.models import Notification

    traffic = Traffic()
    api = Api(WEB_PORT, world.token, traffic)
    during = {"health": [], "admin": Counter(), "outage_latencies": []}
    restarts_before = world.worker_restarts
    down = threading.Event()

    def hold_loop(stop):
        while not stop.is_set():
            account = random.choice(world.accounts)
            started = time.monotonic()
            status, body = api.call("POST", "/api/v1/holds", {"account": str(account.pk), "amount": "1"},
                                    key=uuid.uuid4().hex, retry_for=0)
            if status == 201:
                api.call("POST", f"/api/v1/holds/{body['id']}/release", key=uuid.uuid4().hex, retry_for=0)
            if down.is_set():
                during["outage_latencies"].append(time.monotonic() - started)

    def admin_loop(stop):
        org = world.masters[0].organization_id
        while not stop.is_set():
            started = time.monotonic()
            try:
                status, _, _ = request(WEB_PORT, "GET", f"/admin/ledger/organization/{org}/change/",
                                       headers={"Cookie": world.cookie}, timeout=30)
            except OSError:
                status = "connection error"
            during["admin"][str(status)] += 1
            if down.is_set():
                during["outage_latencies"].append(time.monotonic() - started)
            time.sleep(0.2)

    def stop_redis():
        world.redis.stop()
        down.set()

    def while_down():
        status, _, content = request(WEB_PORT, "GET", "/api/v1/health", timeout=30)
        during["health"].append((status, _json(content)))
        drained = api.call("POST", "/api/v1/charges", {"account": str(world.low.pk), "channel": "sms",
                                                       "quantity": 500, "traffic": "transactional"},
                           key="drain-low-co", retry_for=0)
        during["drain"] = drained[0]

    def start_redis():
        down.clear()
        world.redis.start()

    loops = [charge_loop(api, world.accounts, traffic, "rd", pause=0.05), hold_loop, admin_loop]
    run_for(14, loops, events=[(2, stop_redis), (4, while_down), (10, start_redis)])
    problems, figures = exactly_once(world, traffic)
    failures = {label: count for label, count in traffic.attempts.items() if not label.startswith("2")}
    if failures:
        problems.append(f"non-2xx answers while Redis was down: {failures}")
    if set(during["admin"]) != {"200"}:
        problems.append(f"admin page answers: {dict(during['admin'])}")
    health = during["health"][0] if during["health"] else (None, None)
    if health[0] != 200 or (health[1] or {}).get("status") != "degraded" or health[1].get("broker") != "unavailable":
        problems.append(f"health during the outage: {health}")
    if during.get("drain") != 201:
        problems.append(f"the charge that drained Low Co answered {during.get('drain')}")

    time.sleep(0.5)
    world.fresh_connection()
    caught_up = jobs.run_job("alert_checks_catch_up")
    try:
        wait_for(lambda: Notification.objects.filter(account=world.low, kind="low_balance")
                 .exclude(emailed_to=[]).exists(), 30, "low-credit alert email")
        alert = "sent (notification and email through the worker)"
    except TimeoutError:
        alert = "missing"
        problems.append("no low-credit alert for Low Co after Redis came back")
    outage = during["outage_latencies"]
    figures.update({
        "Celery worker exits restarted by the supervisor": world.worker_restarts - restarts_before,
        "health while down": json.dumps(health[1]), "admin page answers": dict(during["admin"]),
        "slowest request while down (s)": f"{max(outage, default=0):.2f}",
        "p95 while down (s)": f"{percentile(outage, 0.95):.2f}",
        "accounts checked by the catch-up job": caught_up.count, "Low Co low-credit alert": alert,
        "attempts": attempts_text(traffic),
    })
    return problems, figures


def scenario_expiry_worker_kill(world: World) -> tuple[list[str], dict]:
    """A Celery worker SIGKILLed in the middle of a lot expiry, then a new one: every lot expired exactly once."""
    import psycopg
    from django.db import connection

    from alerts.tasks import run_due_jobs
    from ledger.models import CreditLot, Transaction

    world.fresh_connection()
    ids = sorted(world.expiring_ids, key=str)
    blocker = psycopg.connect(world.pg.url.replace("postgres://", "postgresql://"), autocommit=False)
    problems = []
    try:
        with blocker.cursor() as cursor:  # the second chunk waits on this row: the worker is caught midway
            cursor.execute("SELECT id FROM ledger_account WHERE id = %s FOR UPDATE", [ids[-1]])
        run_due_jobs.apply_async(kwargs={"at": datetime.now(UTC).isoformat()})
        wait_for(lambda: Transaction.objects.filter(kind="expiry").count() >= 1000, 60, "the first chunk")
        time.sleep(0.5)
        midway = Transaction.objects.filter(kind="expiry").count()
        world.kill_worker(supervise_after=False)
        killed_at = time.monotonic()
    finally:
        blocker.rollback()
        blocker.close()
    connection.close()
    world.start_worker()
    world.supervising = True
    total = len(ids)
    try:
        wait_for(lambda: Transaction.objects.filter(kind="expiry").count() >= total, 120, "the redelivered expiry")
        redelivered = time.monotonic() - killed_at
    except TimeoutError:
        redelivered = None
        problems.append("the killed worker's job was not redelivered within 120 s")
    time.sleep(1)
    world.fresh_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT lot_id, count(*) FROM ledger_transaction WHERE kind = 'expiry' GROUP BY 1 "
                       "HAVING count(*) <> 1")
        twice = cursor.fetchall()
    left = CreditLot.objects.filter(account_id__in=ids, remaining__gt=0).count()
    expired = Transaction.objects.filter(kind="expiry").values("lot").distinct().count()
    problems += [f"{len(twice)} lot(s) expired more than once"] if twice else []
    problems += [f"{left} due lot(s) not expired"] if left else []
    ledger = world.ledger_problems()
    problems += [f"check_ledger: {line}" for line in ledger[:5]]
    return problems, {"due lots": total, "expired before the kill": midway, "expired once": expired,
                      "expired twice": len(twice),
                      "redelivered and finished after (s)": f"{redelivered:.1f}" if redelivered else "never",
                      "visibility timeout (s)": VISIBILITY_TIMEOUT, "check_ledger violations": len(ledger)}


def scenario_soak(world: World) -> tuple[list[str], dict]:
    """Mixed charges, holds (captured or released), transfers and grants over many accounts; then a full audit."""
    from django.db import connection

    traffic = Traffic()
    api = Api(WEB_PORT, world.token, traffic)
    done = Counter()

    def mixed(stop):
        while not stop.is_set():
            org = random.randrange(len(world.masters))
            master, subs = world.masters[org], world.subs[org]
            account = random.choice([master, *subs])
            roll = random.random()
            if roll < 0.5:
                status, _ = api.call("POST", "/api/v1/charges", {
                    "account": str(account.pk), "channel": "sms", "quantity": random.randint(1, 20),
                    "traffic": random.choice(["transactional", "promotional"])}, key=uuid.uuid4().hex)
                done[f"charge {status}"] += 1
            elif roll < 0.75:
                status, hold = api.call("POST", "/api/v1/holds", {"account": str(account.pk), "amount": "5"},
                                        key=uuid.uuid4().hex)
                done[f"hold {status}"] += 1
                if status == 201 and random.random() < 0.5:
                    status, _ = api.call("POST", "/api/v1/charges", {
                        "account": str(account.pk), "channel": "sms", "quantity": 6, "hold": hold["id"],
                        "traffic": "transactional"}, key=uuid.uuid4().hex)
                    done[f"capture {status}"] += 1
                elif status == 201:
                    status, _ = api.call("POST", f"/api/v1/holds/{hold['id']}/release", key=uuid.uuid4().hex)
                    done[f"release {status}"] += 1
            elif roll < 0.93:
                sender, receiver = random.sample([master, *subs], 2)
                status, _ = api.call("POST", "/api/v1/transfers", {
                    "from_account": str(sender.pk), "to_account": str(receiver.pk),
                    "amount": str(random.randint(1, 50))}, key=uuid.uuid4().hex)
                done[f"transfer {status}"] += 1
            else:
                status, _ = api.call("POST", f"/api/v1/accounts/{account.pk}/credits",
                                     {"amount": str(random.randint(10, 500)), "expires_in": "never"},
                                     key=uuid.uuid4().hex)
                done[f"grant {status}"] += 1

    started = time.monotonic()
    run_for(world.soak_seconds, [mixed for _ in range(4)])
    elapsed = time.monotonic() - started
    problems = []
    ledger = world.ledger_problems()
    problems += [f"check_ledger: {line}" for line in ledger[:5]]
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT a.id, a.balance, COALESCE(p.total, 0), a.held, COALESCE(h.total, 0)
            FROM ledger_account a
            LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_posting GROUP BY account_id) p
                   ON p.account_id = a.id
            LEFT JOIN (SELECT account_id, SUM(remaining) AS total FROM ledger_hold WHERE status = 'active'
                       GROUP BY account_id) h ON h.account_id = a.id
            WHERE a.balance <> COALESCE(p.total, 0) OR a.held <> COALESCE(h.total, 0)""")
        mismatched = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM ledger_account")
        accounts = cursor.fetchone()[0]
    problems += [f"{len(mismatched)} account(s) whose balance or held differs from the postings and holds: "
                 f"{mismatched[:3]}"] if mismatched else []
    operations = sum(done.values())
    unexpected = {label: count for label, count in done.items()
                  if not label.endswith((" 200", " 201", " 402"))}
    problems += [f"unexpected answers: {unexpected}"] if unexpected else []
    return problems, {"seconds": f"{elapsed:.0f}", "operations": operations,
                      "operations per second": f"{operations / elapsed:.0f}",
                      "by kind and status": dict(sorted(done.items())),
                      "accounts audited (balance = postings, held = active holds)": accounts,
                      "mismatched accounts": len(mismatched), "check_ledger violations": len(ledger),
                      "latency p50 / p95 / max (s)": f"{percentile(traffic.latencies, .5):.3f} / "
                                                     f"{percentile(traffic.latencies, .95):.3f} / "
                                                     f"{max(traffic.latencies, default=0):.3f}"}


SCENARIOS = {
    "worker_kill": ("gunicorn worker SIGKILL under charges and 1,000-item batches", scenario_worker_kill),
    "postgres_restart": ("PostgreSQL restarted (fast, then immediate) under load", scenario_postgres_restart),
    "redis_stop": ("Redis stopped under load", scenario_redis_stop),
    "expiry_worker_kill": ("Celery worker killed during lot expiry, run again", scenario_expiry_worker_kill),
    "soak": ("Soak: mixed charges, holds, transfers and grants", scenario_soak),
}


# --- report ---------------------------------------------------------------------------------------------


def write_report(results: list, args) -> None:
    lines = [BEGIN, "",
             f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on a {os.cpu_count()}-core machine "
             f"(load average {os.getloadavg()[0]:.1f} at the end: throughput figures depend on what else ran), "
             f"soak {args.soak_seconds:.0f} s (`python -m tests.chaos.run --soak-seconds {args.soak_seconds:.0f}`).",
             "", "| scenario | result | figures |", "| --- | --- | --- |"]
    for name, (title, _) in SCENARIOS.items():
        found = next((r for r in results if r[0] == name), None)
        if found is None:
            continue
        _, problems, figures, seconds = found
        result = "PASS" if not problems else "FAIL: " + "; ".join(problems)
        shown = "<br>".join(f"{key}: {value}" for key, value in figures.items())
        lines.append(f"| {title} ({seconds:.0f} s) | {result.replace('|', '/')} | {shown.replace('|', '/')} |")
    lines += ["", END]
    text = REPORT.read_text() if REPORT.exists() else f"# Reliability\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    REPORT.write_text(head + "\n".join(lines) + tail)
    log(f"figures written to {REPORT.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak-seconds", type=float, default=75)
    parser.add_argument("--only", default="", help="comma-separated scenario names: " + ", ".join(SCENARIOS))
    parser.add_argument("--write-report", action="store_true", help=f"write the figures into {REPORT.name}")
    args = parser.parse_args()
    chosen = [name for name in SCENARIOS if not args.only or name in args.only.split(",")]
    world = World(args.soak_seconds)
    results = []
    started = time.monotonic()
    try:
        world.start()
        for name in chosen:
            title, scenario = SCENARIOS[name]
            log(f"--- {title}")
            began = time.monotonic()
            try:
                problems, figures = scenario(world)
            except Exception as exc:  # a scenario that crashes fails; the others still run
                problems, figures = [f"crashed: {type(exc).__name__}: {exc}"], {}
            results.append((name, problems, figures, time.monotonic() - began))
            verdict = "PASS" if not problems else "FAIL"
            log(f"{verdict} {title}")
            for key, value in figures.items():
                print(f"        {key}: {value}")
            for problem in problems:
                print(f"        PROBLEM: {problem}")
    finally:
        world.stop()
        log(f"servers stopped; logs in {world.logs}")
    failed = [name for name, problems, _, _ in results if problems]
    print()
    for name, problems, _, seconds in results:
        print(f"{'PASS' if not problems else 'FAIL'}  {name}  ({seconds:.0f} s)")
    print(f"chaos suite took {time.monotonic() - started:.0f} s")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if args.write_report:
        write_report(results, args)
    return 1 if failed or len(results) < len(chosen) else 0


if __name__ == "__main__":
    sys.exit(main())

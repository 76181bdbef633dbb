"""End to end on a real Celery worker and the Redis broker: the beat task expires a lot in the test database."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from ledger.models import CreditLot, Transaction
from tests.factories import funded_account

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_run_due_jobs_on_a_real_worker_expires_a_lot(transactional_db, postgres_only):
    redis_url = os.environ.get("REDIS_URL") or settings.REDIS_URL
    if not redis_url:
        pytest.fail("REDIS_URL must point at a Redis database for the worker test.")
    account = funded_account("25", expires_in="1M", currency="USD", timezone_name="UTC")
    lot = CreditLot.objects.get(account=account)
    at = lot.expires_at + timedelta(minutes=1)

    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    queue = f"alerts-it-{uuid.uuid4().hex[:8]}"  # no stale message of an earlier run reaches this worker
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "CELERY_TASK_ALWAYS_EAGER": "False", "DJANGO_SETTINGS_MODULE": "creditsite.test_settings",
           "CONN_MAX_AGE": "0"}
    env.pop("CI", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "creditsite", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    from alerts.tasks import run_due_jobs

    app = run_due_jobs.app
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        run_due_jobs.apply_async(kwargs={"at": at.isoformat()}, queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and worker.poll() is None:
            if Transaction.objects.filter(kind="expiry", lot=lot).exists():
                break
            time.sleep(0.5)
    finally:
        app.conf.task_always_eager = eager
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    expiry = Transaction.objects.filter(kind="expiry", lot=lot).first()
    assert expiry is not None, f"the worker did not expire the lot; its log:\n{output[-4000:]}"
    assert expiry.amount == Decimal("25")
    assert expiry.actor_service == "system"
    account.refresh_from_db()
    assert account.balance == Decimal("0")
    assert "alerts.tasks.run_due_jobs" in output

"""End to end on a real Celery worker and the Redis broker: the beat task expires a lot in the test database."""

import os
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from ledger.models import CreditLot, Transaction
from tests.celery_worker import start_worker, stop_worker
from tests.factories import funded_account


@pytest.mark.slow
def test_run_due_jobs_on_a_real_worker_expires_a_lot(transactional_db, postgres_only):
    redis_url = os.environ.get("REDIS_URL") or settings.REDIS_URL
    if not redis_url:
        pytest.fail("REDIS_URL must point at a Redis database for the worker test.")
    account = funded_account("25", expires_in="1M", currency="USD", timezone_name="UTC")
    lot = CreditLot.objects.get(account=account)
    at = lot.expires_at + timedelta(minutes=1)

    queue = f"alerts-it-{uuid.uuid4().hex[:8]}"  # no stale message of an earlier run reaches this worker
    worker = start_worker(queue, redis_url)
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
        output = stop_worker(worker)
    expiry = Transaction.objects.filter(kind="expiry", lot=lot).first()
    assert expiry is not None, f"the worker did not expire the lot; its log:\n{output[-4000:]}"
    assert expiry.amount == Decimal("25")
    assert expiry.actor_service == "system"
    account.refresh_from_db()
    assert account.balance == Decimal("0")
    assert "alerts.tasks.run_due_jobs" in output

"""End to end on a real Celery worker: the request id of an API request appears in the log lines of the task it
enqueued (carried in the task's headers), in the worker's JSON log."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from alerts.models import AccountAlertState
from tests.api.helpers import token_client, with_rate_card
from tests.factories import funded_account

ROOT = Path(__file__).resolve().parents[2]
TASK = "alerts.tasks.check_account_alerts"


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
def test_the_request_id_reaches_the_log_lines_of_the_task_it_enqueued(transactional_db, postgres_only):
    redis_url = os.environ.get("REDIS_URL") or settings.REDIS_URL
    if not redis_url:
        pytest.fail("REDIS_URL must point at a Redis database for the worker test.")
    account = funded_account("1000")  # well above the low-credit threshold: the check sends nothing
    with_rate_card(account.organization)
    client = token_client(["charge"])
    from alerts.tasks import check_account_alerts

    app = check_account_alerts.app
    queue = app.amqp.router.route({}, TASK, args=(str(account.pk),))["queue"].name
    redis.Redis.from_url(redis_url).delete(queue)  # no message of an earlier run
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": redis_url, "LOG_FORMAT": "json",
           "CELERY_TASK_ALWAYS_EAGER": "False", "DJANGO_SETTINGS_MODULE": "creditsite.test_settings",
           "CONN_MAX_AGE": "0"}
    env.pop("CI", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "creditsite", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    request_id = f"e2e-{uuid.uuid4().hex}"
    checked_before = AccountAlertState.objects.filter(account=account).values_list("checked_at", flat=True).first()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        response = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms",
                                                   "recipient": "+919812345678"},
                               format="json", HTTP_IDEMPOTENCY_KEY="e2e", HTTP_X_REQUEST_ID=request_id)
        assert response.status_code == 201 and response["X-Request-ID"] == request_id
        deadline = time.monotonic() + 90  # worker start-up plus the alert check's 5 s debounce
        while time.monotonic() < deadline and worker.poll() is None:
            checked = AccountAlertState.objects.filter(account=account).values_list("checked_at", flat=True).first()
            if checked is not None and checked != checked_before:
                time.sleep(2)  # let the worker log the task's end
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
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    task_lines = [line for line in lines if line.get("request_id") == request_id]
    assert task_lines, f"no worker log line carries the request id; its log:\n{output[-4000:]}"
    started = [line for line in task_lines if line.get("event") == "task_started"]
    assert started and started[0]["task"] == TASK and started[0].get("task_id")
    assert any(line.get("event") == "task_succeeded" for line in task_lines), output[-6000:]

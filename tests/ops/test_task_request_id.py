"""End to end on a real Celery worker: the request id of an API request appears in the log lines of the task it
enqueued (carried in the task's headers), in the worker's JSON log."""

import json
import os
import time
import uuid

import pytest
import redis
from django.conf import settings

from alerts.models import AccountAlertState
from tests.api.helpers import token_client, with_rate_card
from tests.celery_worker import start_worker, stop_worker
from tests.factories import funded_account

TASK = "alerts.tasks.check_account_alerts"


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
    worker = start_worker(queue, redis_url, LOG_FORMAT="json")
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
        output = stop_worker(worker)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    task_lines = [line for line in lines if line.get("request_id") == request_id]
    assert task_lines, f"no worker log line carries the request id; its log:\n{output[-4000:]}"
    started = [line for line in task_lines if line.get("event") == "task_started"]
    assert started and started[0]["task"] == TASK and started[0].get("task_id")
    assert any(line.get("event") == "task_succeeded" for line in task_lines), output[-6000:]

"""/metrics: token-protected Prometheus scrape of request metrics, money-path metrics and state read at scrape time."""

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import WebhookDelivery, WebhookEndpoint
from ledger import services
from ops import collectors, metrics
from ops.models import LedgerCheckRun
from tests.api.helpers import token_client, with_rate_card
from tests.factories import SYSTEM, funded_account, make_org

from .conftest import TOKEN, value

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_metrics_are_refused_without_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404  # no token configured: the endpoint is off
    settings.METRICS_TOKEN = TOKEN
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert b"creditsite_" not in missing.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ünïcode").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_a_request_is_counted_and_timed_by_route_name_and_status(client, scrape):
    before = scrape()
    client.get("/api/v1/health")
    client.get("/api/v1/accounts/00000000-0000-0000-0000-000000000000")  # 401: no token
    after = scrape()
    labels = {"route": "health", "method": "GET", "status": "200"}
    assert value(after, "creditsite_http_requests_total", **labels) == value(
        before, "creditsite_http_requests_total", **labels) + 1
    assert value(after, "creditsite_http_request_duration_seconds_count", **labels) >= 1
    assert value(after, "creditsite_http_requests_total", route="api-account", method="GET", status="401") >= 1
    # route names, never raw paths (ids would explode the number of series)
    assert not any("00000000" in str(labels) for _, labels in after)


def test_money_metric_names_are_registered_at_zero(scrape):
    samples = scrape()
    names = {name for name, _ in samples}
    for code in ("insufficient_credits", "org_blocked", "no_rate"):
        assert ("creditsite_charge_refusals_total", frozenset({("code", code)})) in samples
    assert ("creditsite_charges_total", frozenset({("channel", "sms"), ("traffic", "promotional")})) in samples
    assert ("creditsite_idempotent_replays_total", frozenset({("endpoint", "api-charges")})) in samples
    assert {"creditsite_charge_lock_wait_seconds_count", "creditsite_charge_batch_size_count"} <= names
    assert "creditsite_charge_lock_wait_seconds_bucket" in names


def test_recorders_feed_the_money_metrics(scrape):
    before = scrape()
    metrics.charge_recorded(channel="sms", traffic="transactional", amount="0.25", currency="INR")
    metrics.lock_wait_recorded(seconds=0.002)
    after = scrape()
    assert value(after, "creditsite_charges_total", channel="sms", traffic="transactional") == value(
        before, "creditsite_charges_total", channel="sms", traffic="transactional") + 1
    assert value(after, "creditsite_charged_amount_total", channel="sms", traffic="transactional",
                 currency="INR") >= 0.25
    assert value(after, "creditsite_charge_lock_wait_seconds_count") == value(
        before, "creditsite_charge_lock_wait_seconds_count") + 1


@pytest.mark.usefixtures("money_path")
def test_a_service_level_charge_shows_in_the_charge_counters_after_its_commit(
        scrape, django_capture_on_commit_callbacks):
    """The ledger's money_moved event feeds the charge metrics (ops.signals), on both money paths."""
    account = funded_account("100")
    labels = {"channel": "whatsapp", "traffic": "promotional"}
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        services.charge_create(actor=SYSTEM, account=account, channel="whatsapp", quantity=3, unit_price="0.5",
                               traffic="promotional")
        services.credits_grant(actor=SYSTEM, account=account, amount="5")  # money moved, but not a charge
        assert value(scrape(), "creditsite_charges_total", **labels) == value(before, "creditsite_charges_total",
                                                                              **labels)  # not before the commit
    with django_capture_on_commit_callbacks(execute=True):
        hold = services.hold_create(actor=SYSTEM, account=account, amount="2")
    with django_capture_on_commit_callbacks(execute=True):
        services.hold_capture(actor=SYSTEM, hold=hold, amount="2", channel="whatsapp")
    after = scrape()
    assert value(after, "creditsite_charges_total", **labels) == value(
        before, "creditsite_charges_total", **labels) + 2  # the charge and the hold's capture
    assert value(after, "creditsite_charged_amount_total", currency="INR", **labels) == pytest.approx(value(
        before, "creditsite_charged_amount_total", currency="INR", **labels) + 3.5)


@pytest.mark.usefixtures("money_path")
def test_a_charge_records_its_lock_wait(scrape):
    """The charge path measures the time to acquire the funding account's lock (in ledger_charge() on the
    database path, around the locking SELECT on the Python path) and ops records it through lock_waited."""
    account = funded_account("100")
    before = scrape()
    services.charge_create(actor=SYSTEM, account=account, channel="sms", unit_price="1")
    services.charge_batch(actor=SYSTEM, account=account, items=[services.ChargeRequest(channel="sms", unit_price="1")])
    after = scrape()
    assert value(after, "creditsite_charge_lock_wait_seconds_count") == value(
        before, "creditsite_charge_lock_wait_seconds_count") + 2
    assert 0 <= value(after, "creditsite_charge_lock_wait_seconds_sum") - value(
        before, "creditsite_charge_lock_wait_seconds_sum") < 5


def test_api_refusals_replays_and_batch_sizes_are_counted(scrape, django_capture_on_commit_callbacks):
    account = funded_account("1")
    with_rate_card(account.organization)
    client = token_client(["charge"])
    before = scrape()
    refused = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms", "quantity": 50,
                                              "recipient": "+919812345678", "traffic": "promotional"},
                          format="json", HTTP_IDEMPOTENCY_KEY="too-much")
    assert refused.status_code == 402
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "email"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="once")
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "email"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="once")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    with django_capture_on_commit_callbacks(execute=True):
        batch = client.post("/api/v1/charges/batch", {"account": str(account.pk), "items": [
            {"channel": "email"}, {"channel": "sms", "quantity": 100, "traffic": "promotional"}]},
            format="json", HTTP_IDEMPOTENCY_KEY="batch")
    assert batch.status_code == 200
    after = scrape()

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("creditsite_charge_refusals_total", code="insufficient_credits") == 2  # the charge and an item
    assert grew("creditsite_idempotent_replays_total", endpoint="api-charges") == 1
    assert grew("creditsite_charge_batch_size_count") == 1 and grew("creditsite_charge_batch_size_sum") == 2
    # counted once each: the first email charge and the batch's email item; the replay moved nothing
    assert grew("creditsite_charges_total", channel="email", traffic="promotional") == 2


def test_ledger_check_result_and_age(scrape):
    funded_account("10")
    call_command("check_ledger")
    run = LedgerCheckRun.objects.get()
    assert (run.source, run.problems) == ("command", 0)
    samples = scrape()
    assert value(samples, "creditsite_ledger_check_problems") == 0
    assert 0 <= value(samples, "creditsite_ledger_check_age_seconds") < 60
    assert value(samples, "creditsite_ledger_check_last_run_timestamp_seconds") == pytest.approx(
        run.finished_at.timestamp())
    LedgerCheckRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(days=2, minutes=1),
                                                    finished_at=timezone.now() - timedelta(days=2))
    assert value(scrape(), "creditsite_ledger_check_age_seconds") > 2 * 86400


def test_webhook_deliveries_by_status_and_oldest_backlog(scrape):
    endpoint = WebhookEndpoint.objects.create(organization=make_org(), url="https://hooks.example.com/x",
                                              events=["balance.low"])
    WebhookDelivery.objects.create(endpoint=endpoint, event="balance.low", payload={}, status="failed")
    WebhookDelivery.objects.create(endpoint=endpoint, event="balance.low", payload={}, status="retrying",
                                   created_at=timezone.now() - timedelta(minutes=30))
    samples = scrape()
    assert value(samples, "creditsite_webhook_deliveries", status="failed") == 1
    assert value(samples, "creditsite_webhook_deliveries", status="retrying") == 1
    assert value(samples, "creditsite_webhook_deliveries", status="delivered") == 0
    assert value(samples, "creditsite_webhook_oldest_undelivered_age_seconds") >= 30 * 60


def test_topups_by_status_read_from_the_configured_model(scrape, settings):
    assert not any(name == "creditsite_topups" for name, _ in scrape())  # no payments.TopUp model yet
    # Any model with a `status` field feeds the gauge; payments.TopUp will once it exists.
    settings.METRICS_TOPUP_MODEL = "alerts.WebhookDelivery"
    endpoint = WebhookEndpoint.objects.create(organization=make_org(), url="https://hooks.example.com/x",
                                              events=["balance.low"])
    for status in ("pending", "failed", "failed"):
        WebhookDelivery.objects.create(endpoint=endpoint, event="balance.low", payload={}, status=status)
    samples = scrape()
    assert value(samples, "creditsite_topups", status="failed") == 2
    assert value(samples, "creditsite_topups", status="pending") == 1


def test_celery_queue_depth_is_read_from_the_broker(scrape, settings):
    import redis

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis broker")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = collectors.celery_queue_names()[0]
    client.delete(queue)
    try:
        client.lpush(queue, "a", "b", "c")
        samples = scrape()
        assert value(samples, "creditsite_celery_queue_length", queue=queue) == 3
        assert value(samples, "creditsite_metrics_source_up", source="broker") == 1
    finally:
        client.delete(queue)


def test_a_scrape_answers_when_the_broker_is_down(scrape, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    samples = scrape()
    assert value(samples, "creditsite_metrics_source_up", source="broker") == 0
    assert value(samples, "creditsite_metrics_source_up", source="database") == 1


def test_several_worker_processes_add_up_in_multiprocess_mode(tmp_path):
    """gunicorn's workers are processes: with PROMETHEUS_MULTIPROC_DIR each writes its counts and any scrape sums them."""
    record = textwrap.dedent("""
        import django; django.setup()
        from ops import metrics
        metrics.http_request_recorded(route="health", method="GET", status=200, seconds=0.01)
    """)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "creditsite.test_settings"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], cwd=ROOT, env=env, check=True, timeout=60)
    scrape_text = textwrap.dedent("""
        import django; django.setup()
        from ops import collectors
        print(collectors.generate_latest(collectors.event_registry()).decode())
    """)
    output = subprocess.run([sys.executable, "-c", scrape_text], cwd=ROOT, env=env, check=True, timeout=60,
                            capture_output=True, text=True).stdout
    assert 'creditsite_http_requests_total{method="GET",route="health",status="200"} 2.0' in output


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("money_path", "postgres_only")
def test_the_lock_wait_is_the_time_another_writer_held_the_account(scrape):
    """A charge queued behind another transaction holding the account's row lock records that wait."""
    import threading
    import time

    from django.db import connection, transaction

    from ledger.locks import lock_account

    account = funded_account("100")
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                lock_account(account.pk)
                locked.set()
                release.wait(10)
                time.sleep(0.3)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    before = scrape()
    release.set()
    services.charge_create(actor=SYSTEM, account=account, channel="sms", unit_price="1")
    thread.join(10)
    after = scrape()
    assert value(after, "creditsite_charge_lock_wait_seconds_count") == value(
        before, "creditsite_charge_lock_wait_seconds_count") + 1
    assert value(after, "creditsite_charge_lock_wait_seconds_sum") - value(
        before, "creditsite_charge_lock_wait_seconds_sum") >= 0.2

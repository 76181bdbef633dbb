"""Every Prometheus metric of the project, one small recording function each, and the scrape output.

Two kinds of metric:

- **Events counted in the process that sees them** (HTTP requests, charges, refusals, replays, lock
  waits, batch sizes, Celery task runs, webhook attempts): prometheus_client counters and
  histograms. Under gunicorn (several worker processes) and Celery (prefork children) the
  environment variable PROMETHEUS_MULTIPROC_DIR must name a directory shared by the processes of a
  host: each process writes its values there and a scrape of any one of them adds them up
  (prometheus_client's multiprocess mode). No live gauges are kept in-process, so no per-process
  gauge semantics to choose.
- **State read at scrape time** from PostgreSQL and Redis (Celery queue depth, the last ledger
  check, webhook deliveries, top-ups by status): the same answer from any process, whatever the
  number of workers.

Amount counters are floats, as Prometheus values are: they feed dashboards, the ledger is the record.
"""

import logging
import os
import time
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
REFUSAL_CODES = ("insufficient_credits", "org_blocked", "no_rate")
# Routes of the charge path whose refusals are counted (by the error code of the API contract).
CHARGE_ROUTES = ("api-charges", "api-charges-batch", "api-holds")
BATCH_ROUTE = "api-charges-batch"
NOT_REFUSALS = {401, 403, 429}  # authentication and throttling show in the HTTP metrics, not as refusals
MONEY_ENDPOINTS = ("api-charges", "api-charges-batch", "api-holds", "api-hold-release", "api-transfers",
                   "api-account-credits", "api-account-removals")

# --- HTTP ---------------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter("creditsite_http_requests", "HTTP requests by route name, method and status.",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("creditsite_http_request_duration_seconds",
                         "Time to answer an HTTP request, by route name, method and status.",
                         ["route", "method", "status"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

# --- the money path -------------------------------------------------------------------------------------

CHARGES = Counter("creditsite_charges", "Charges made, by channel and traffic.", ["channel", "traffic"])
CHARGED_AMOUNT = Counter("creditsite_charged_amount", "Credits charged, by channel, traffic and currency.",
                         ["channel", "traffic", "currency"])
REFUSALS = Counter("creditsite_charge_refusals", "Charges and holds refused, by error code.", ["code"])
IDEMPOTENT_REPLAYS = Counter("creditsite_idempotent_replays",
                             "Requests answered from a stored response (a retry with the same Idempotency-Key), "
                             "by endpoint.", ["endpoint"])
LOCK_WAIT = Histogram("creditsite_charge_lock_wait_seconds",
                      "Time a charge waited for its funding account's row lock.",
                      buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
BATCH_SIZE = Histogram("creditsite_charge_batch_size", "Items per batch charge request.",
                       buckets=(1, 10, 50, 100, 250, 500, 750, 1000))

# --- background work ----------------------------------------------------------------------------------

TASK_DURATION = Histogram("creditsite_celery_task_duration_seconds",
                          "Run time of Celery tasks (scheduled jobs, alert checks, emails, webhooks), by task "
                          "and final state.", ["task", "state"],
                          buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800))
WEBHOOK_ATTEMPTS = Counter("creditsite_webhook_attempts",
                           "Webhook delivery attempts by event and outcome (delivered, retrying, failed).",
                           ["event", "outcome"])


def http_request_recorded(*, route: str, method: str, status: int, seconds: float) -> None:
    """One answered HTTP request."""
    labels = {"route": route, "method": method if method in HTTP_METHODS else "other", "status": str(status)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_LATENCY.labels(**labels).observe(seconds)


def api_response_recorded(*, route: str, response) -> None:
    """What the API's answer tells about the money path: a replay, a refusal's code, a batch's size and
    the codes of its refused items. Read from the response the contract defines (the `Idempotent-Replayed`
    header, `{"code"}` bodies, batch `results`), so the views need no instrumentation."""
    if response.get("Idempotent-Replayed") == "true":
        idempotent_replay_recorded(endpoint=route)
        return
    if route not in CHARGE_ROUTES:
        return
    data = getattr(response, "data", None)
    if not isinstance(data, dict):
        return
    if response.status_code >= 400 and response.status_code not in NOT_REFUSALS and isinstance(data.get("code"), str):
        refusal_recorded(code=data["code"])
    elif route == BATCH_ROUTE and isinstance(data.get("results"), list):
        batch_size_recorded(size=len(data["results"]))
        for result in data["results"]:
            error = result.get("error") if isinstance(result, dict) else None
            if isinstance(error, dict) and isinstance(error.get("code"), str):
                refusal_recorded(code=error["code"])


def charge_recorded(*, channel: str, traffic: str, amount, currency: str) -> None:
    """One charge made (not a replay): counts it and adds its amount (a Decimal) per currency."""
    CHARGES.labels(channel=channel, traffic=traffic).inc()
    CHARGED_AMOUNT.labels(channel=channel, traffic=traffic, currency=currency).inc(float(amount))


def refusal_recorded(*, code: str) -> None:
    """A charge, batch item or hold refused with an error code (insufficient_credits, org_blocked, no_rate, ...)."""
    REFUSALS.labels(code=code).inc()


def idempotent_replay_recorded(*, endpoint: str) -> None:
    """A response replayed for a retried Idempotency-Key."""
    IDEMPOTENT_REPLAYS.labels(endpoint=endpoint).inc()


def lock_wait_recorded(*, seconds: float) -> None:
    """Time spent waiting for the funding account's row lock on the charge path."""
    LOCK_WAIT.observe(seconds)


def batch_size_recorded(*, size: int) -> None:
    """The number of items of one batch charge request."""
    BATCH_SIZE.observe(size)


def task_run_recorded(*, task: str, state: str, seconds: float) -> None:
    """One Celery task run and how it ended (SUCCESS, FAILURE, RETRY)."""
    TASK_DURATION.labels(task=task, state=state).observe(seconds)


def webhook_attempt_recorded(*, event: str, outcome: str) -> None:
    """One webhook POST and its outcome: delivered, retrying or failed."""
    WEBHOOK_ATTEMPTS.labels(event=event, outcome=outcome).inc()


def money_metrics_initialize() -> None:
    """Create the money-path series at zero, so dashboards and alerts see them before the first charge."""
    from ledger.models import Traffic
    from ratecards.models import Channel

    for channel in Channel.values:
        for traffic in Traffic.values:
            CHARGES.labels(channel=channel, traffic=traffic)
    for code in REFUSAL_CODES:
        REFUSALS.labels(code=code)
    for endpoint in MONEY_ENDPOINTS:
        IDEMPOTENT_REPLAYS.labels(endpoint=endpoint)


# --- state read at scrape time --------------------------------------------------------------------------

WEBHOOK_WINDOW = timedelta(hours=24)
BROKER_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")  # kombu's Redis priority lists


def celery_queue_names() -> list[str]:
    """The queues tasks are routed to: the default queue, declared queues and those named in routes."""
    from creditsite.celery import app

    conf = app.conf
    names = {conf.task_default_queue or "celery"}
    names.update(queue.name for queue in (conf.task_queues or []))
    routes = conf.task_routes or {}
    if isinstance(routes, dict):
        names.update(route["queue"] for route in routes.values() if isinstance(route, dict) and "queue" in route)
    return sorted(names)


def _redis_client():
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


class StateCollector:
    """Gauges read from the database and the broker at each scrape; a failing source reports itself down."""

    def describe(self):
        return []

    def collect(self):
        up = GaugeMetricFamily("creditsite_metrics_source_up",
                               "1 if the scrape could read the source (database, broker), else 0.", labels=["source"])
        database_ok = self._safely(self._database_gauges)
        broker_ok = self._safely(self._broker_gauges)
        up.add_metric(["database"], 1 if database_ok is not None else 0)
        up.add_metric(["broker"], 1 if broker_ok is not None else 0)
        yield from database_ok or []
        yield from broker_ok or []
        yield up

    @staticmethod
    def _safely(read):
        try:
            return list(read())
        except Exception:  # a scrape must answer even with PostgreSQL or Redis down
            logger.warning("metrics source unavailable", exc_info=True)
            return None

    def _database_gauges(self):
        yield from self._ledger_check()
        yield from self._webhooks()
        yield from self._topups()

    @staticmethod
    def _ledger_check():
        from .models import LedgerCheckRun

        problems = GaugeMetricFamily("creditsite_ledger_check_problems",
                                     "Invariant violations found by the last ledger check (0 = sound).")
        finished = GaugeMetricFamily("creditsite_ledger_check_last_run_timestamp_seconds",
                                     "When the last ledger check finished (Unix time).")
        age = GaugeMetricFamily("creditsite_ledger_check_age_seconds", "Seconds since the last ledger check finished.")
        duration = GaugeMetricFamily("creditsite_ledger_check_duration_seconds", "Run time of the last ledger check.")
        last = LedgerCheckRun.objects.order_by("-finished_at").first()
        if last is not None:
            problems.add_metric([], last.problems)
            finished.add_metric([], last.finished_at.timestamp())
            age.add_metric([], (timezone.now() - last.finished_at).total_seconds())
            duration.add_metric([], last.duration_seconds)
        return [problems, finished, age, duration]

    @staticmethod
    def _webhooks():
        from alerts.models import DeliveryStatus, WebhookDelivery

        since = timezone.now() - WEBHOOK_WINDOW
        by_status = GaugeMetricFamily("creditsite_webhook_deliveries",
                                      "Webhook deliveries created in the last 24 hours, by status.", labels=["status"])
        counts = dict(WebhookDelivery.objects.filter(created_at__gte=since).order_by().values("status")
                      .annotate(n=Count("pk")).values_list("status", "n"))
        for status in DeliveryStatus.values:
            by_status.add_metric([status], counts.get(status, 0))
        oldest = GaugeMetricFamily("creditsite_webhook_oldest_undelivered_age_seconds",
                                   "Age of the oldest pending or retrying delivery of the last 24 hours (0: none).")
        first = (WebhookDelivery.objects.filter(created_at__gte=since,
                                                status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
                 .order_by("created_at").values_list("created_at", flat=True).first())
        oldest.add_metric([], (timezone.now() - first).total_seconds() if first else 0)
        return [by_status, oldest]

    @staticmethod
    def _topups():
        """Top-ups by status, from the model named by METRICS_TOPUP_MODEL (payments.TopUp) once it exists."""
        family = GaugeMetricFamily("creditsite_topups", "Top-ups by status.", labels=["status"])
        try:
            model = apps.get_model(settings.METRICS_TOPUP_MODEL)
        except (LookupError, ValueError):
            return [family]
        rows = model.objects.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
        for status, count in rows:
            family.add_metric([str(status)], count)
        return [family]

    @staticmethod
    def _broker_gauges():
        client = _redis_client()
        if client is None:
            return []
        names = celery_queue_names()
        pipe = client.pipeline()
        for name in names:
            for suffix in BROKER_PRIORITY_SUFFIXES:
                pipe.llen(name + suffix)
        pipe.hlen("unacked")
        lengths = pipe.execute()
        queue = GaugeMetricFamily("creditsite_celery_queue_length", "Messages waiting in each Celery queue.",
                                  labels=["queue"])
        step = len(BROKER_PRIORITY_SUFFIXES)
        for index, name in enumerate(names):
            queue.add_metric([name], sum(lengths[index * step:(index + 1) * step]))
        unacked = GaugeMetricFamily("creditsite_celery_unacked_messages",
                                    "Messages taken by workers and not yet acknowledged (running, or waiting for "
                                    "their countdown).")
        unacked.add_metric([], lengths[-1])
        return [queue, unacked]


STATE_REGISTRY = CollectorRegistry(auto_describe=False)
STATE_REGISTRY.register(StateCollector())


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def event_registry() -> CollectorRegistry:
    """The counters and histograms of this process, or of every process of the host in multiprocess mode."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition() -> bytes:
    """The scrape output: event metrics, then the state read now."""
    started = time.perf_counter()
    body = generate_latest(event_registry()) + generate_latest(STATE_REGISTRY)
    logger.debug("metrics scrape took %.3f s", time.perf_counter() - started)
    return body


def worker_exporter_start() -> None:
    """On a Celery host, serve this host's event metrics on METRICS_WORKER_ADDRESS:METRICS_WORKER_PORT (if set).

    For hosts that run workers but no web process: task timings and webhook attempts are then scraped
    there. Bound to the loopback address unless told otherwise; it has no token.
    """
    port = settings.METRICS_WORKER_PORT
    if port:
        start_http_server(port, addr=settings.METRICS_WORKER_ADDRESS, registry=event_registry())
        logger.info("worker metrics on %s:%s", settings.METRICS_WORKER_ADDRESS, port)

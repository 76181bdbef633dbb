"""What /metrics reads at scrape time (the ledger check, webhooks, top-ups, Celery queues) and serves.

The counters and their recorders are `ops.metrics`, which any app may import; this module reads the
apps' tables, so it sits above them (the metrics view, the worker exporter and the ops app's wiring use it).
"""

import logging
import os
import time
from datetime import timedelta

import redis
from django.apps import apps
from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily

from alerts.models import DeliveryStatus, WebhookDelivery
from creditsite.celery import app
from ledger.models import Traffic
from ratecards.models import Channel

from .metrics import CHARGES, IDEMPOTENT_REPLAYS, MONEY_ENDPOINTS, REFUSAL_CODES, REFUSALS
from .models import LedgerCheckRun

logger = logging.getLogger(__name__)


def money_metrics_initialize() -> None:
    """Create the money-path series at zero, so dashboards and alerts see them before the first charge."""
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
    conf = app.conf
    names = {conf.task_default_queue or "celery"}
    names.update(queue.name for queue in (conf.task_queues or []))
    routes = conf.task_routes or {}
    if isinstance(routes, dict):
        names.update(route["queue"] for route in routes.values() if isinstance(route, dict) and "queue" in route)
    return sorted(names)


def _redis_client():
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

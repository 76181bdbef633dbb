"""Every Prometheus metric of the project and one small recording function each (any app may record).

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
  number of workers. Those readers, and the scrape output, are `ops.collectors`: they read the apps'
  tables, while this module imports no app, so every app may record here.

Amount counters are floats, as Prometheus values are: they feed dashboards, the ledger is the record.
"""

import logging

from prometheus_client import (
    Counter,
    Histogram,
)

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


def charge_recorded(*, channel: str, traffic: str, amount, currency: str, count: int = 1) -> None:
    """`count` charges made (not replays), `amount` in all (a Decimal): counted, and the amount added per currency."""
    CHARGES.labels(channel=channel, traffic=traffic).inc(count)
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



"""The scheduled jobs and their runner: each job runs under a lock (two beats or workers never overlap) on top
of the ledger services' own idempotency, acts on whatever is due as of an instant by each org's clock, and
can be re-run after a crash (every step commits on its own and skips what is already done). The money
jobs are the ledger's (ledger/jobs.py); rate card activation and the alert jobs join them here."""

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from creditsite.resilience import enqueue
from ledger import jobs as ledger_jobs
from ledger.jobs import MONEY_JOBS
from ratecards.services import rate_card_versions_activate

from . import selectors, services
from .alert_checks import pending_key
from .emails import send_alert_email
from .models import DeliveryStatus, Notification, WebhookDelivery
from .webhooks import deliver_webhook

logger = logging.getLogger(__name__)

CATCH_UP_LIMIT = 20_000  # accounts checked (and sends queued) per run at most; the next run goes on
LOST_SEND_GRACE = timedelta(minutes=5)
LOCK_TTL_SECONDS = 30 * 60  # the cache lock (SQLite runs) outlives any job; PostgreSQL locks die with the session


@dataclass
class JobResult:
    """What one job did: a count, or skipped (another run holds its lock), or the error it raised."""

    name: str
    count: int = 0
    skipped: bool = False
    error: str = ""

    def as_dict(self) -> dict:
        return {"count": self.count, "skipped": self.skipped, "error": self.error}


def _lock_id(name: str) -> int:
    digest = hashlib.sha256(f"creditsite.job.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Try to take the job's lock without waiting; yields whether it was taken.

    PostgreSQL: a session advisory lock (freed by the server if the worker dies). Elsewhere: a cache
    key with a TTL.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_id(name)])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_id(name)])
        return
    key, token = f"alerts:job-lock:{name}", uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=LOCK_TTL_SECONDS)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def run_job(name: str, at: datetime | None = None) -> JobResult:
    """Run one job by name under its lock; a job whose lock is taken is skipped, not waited for."""
    at = at or timezone.now()
    job = JOBS[name]
    with job_lock(name) as acquired:
        if not acquired:
            logger.info("job %s skipped: another run holds its lock", name)
            return JobResult(name, skipped=True)
        try:
            count = job(at)
        except Exception as exc:
            logger.exception("job %s failed", name)
            return JobResult(name, error=f"{type(exc).__name__}: {exc}")
    logger.info("job %s at %s: %s", name, at.isoformat(), count)
    return JobResult(name, count=count)


def run_due_jobs(at: datetime | None = None, names: list[str] | None = None) -> dict[str, JobResult]:
    """Run every scheduled job (or `names`) as of `at`, in order; one failing job does not stop the others."""
    at = at or timezone.now()
    return {name: run_job(name, at) for name in (names or list(JOBS))}


# --- the jobs -------------------------------------------------------------------------------------


def ratecards_activate(at: datetime) -> int:
    """Mark rate card versions that took effect as current (ratecards.services) and tell their orgs."""
    rate_card_versions_activate(at=at)
    return len(services.ratecard_activation_notices(at=at))


def expiry_warnings(at: datetime) -> int:
    return len(services.expiry_warnings_send(at=at))


def alert_checks_catch_up(at: datetime) -> int:
    """Check every funding account whose alert state is stale (its balance moved since its last check).

    A check queued after a balance change can be lost: Redis down when it was queued, a worker
    killed, retries exhausted during a long database outage. Accounts with a check already queued
    (their pending mark is set) are left to it. Alert emails and webhook deliveries never sent are
    queued again. Returns the number of accounts checked plus sends queued.
    """
    ids = [str(pk) for pk in selectors.stale_alert_accounts().order_by("pk").values_list("pk", flat=True)
           [:CATCH_UP_LIMIT]]
    queued = cache.get_many([pending_key(pk) for pk in ids]) if ids else {}
    checked = 0
    for account_id in ids:
        if pending_key(account_id) in queued:
            continue
        services.account_alerts_check(account_id=account_id, at=at)
        checked += 1
    return checked + _lost_sends_queue(at)


def _lost_sends_queue(at: datetime) -> int:
    """Queue again the alert emails and webhook deliveries whose first send was never queued (broker down).

    Only those older than LOST_SEND_GRACE (a queued one has run by then) and younger than a day.
    """
    window = {"created_at__lte": at - LOST_SEND_GRACE, "created_at__gte": at - timedelta(days=1)}
    emails = Notification.objects.filter(email_pending=True, **window).values_list("pk", flat=True)
    deliveries = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, attempts=0, **window).values_list(
        "pk", flat=True)
    sends = [(send_alert_email, pk) for pk in emails[:CATCH_UP_LIMIT]]
    sends += [(deliver_webhook, str(pk)) for pk in deliveries[:CATCH_UP_LIMIT]]
    return sum(enqueue(task, pk) for task, pk in sends)


# Order matters: rate cards first (charges after midnight use the new prices), then the money jobs of the
# ledger (expiry, holds, limits, month close), expiry warnings after expiry (no warning about a lot that
# just expired), the catch-up of lost alert checks, the purge of idempotency keys last.
JOBS: dict[str, Callable[[datetime], int]] = {
    "ratecards_activate": ratecards_activate,
    **MONEY_JOBS,
    "expiry_warnings": expiry_warnings,
    "alert_checks_catch_up": alert_checks_catch_up,
    "idempotency_keys_purge": ledger_jobs.idempotency_keys_purge,
    "month_totals_roll": ledger_jobs.month_totals_roll,
}
# What the 15-minute beat runs; the purge and the monthly totals' roll-up have their own daily schedules.
DAILY_JOBS = ("idempotency_keys_purge", "month_totals_roll")
DUE_JOBS = [name for name in JOBS if name not in DAILY_JOBS]

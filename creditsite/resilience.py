"""Redis may go away; the money path must not: a fail-fast Redis client for the cache and a soft enqueue.

The cache (django-redis with IGNORE_EXCEPTIONS) answers "miss" when Redis is unreachable, and
throttles built on it let requests through. Short socket timeouts bound what one call can cost;
a circuit breaker per process bounds what an outage costs: after a connection error or timeout,
calls fail at once for `REDIS_RETRY_AFTER_SECONDS` instead of each waiting for its own timeout.
Celery enqueues from web requests go through `enqueue`, which logs a failure instead of raising
and skips the broker for the same pause; the periodic alert catch-up job finds what was missed.
"""

import logging
import threading
import time

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# A database restart or failover, as a Celery task sees it: such tasks are retried with backoff (countdowns
# stay below the broker's visibility timeout, see settings), on a fresh connection (Celery's Django fixup
# drops the broken one).
DATABASE_ERRORS = (OperationalError, InterfaceError)


class CircuitBreaker:
    """Open for `pause` seconds after a failure: callers skip the dependency instead of waiting on it."""

    def __init__(self, name: str):
        self.name = name
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def pause(self) -> float:
        return getattr(settings, "REDIS_RETRY_AFTER_SECONDS", 10.0)

    def is_open(self) -> bool:
        """True while calls should not be tried."""
        return time.monotonic() < self._open_until

    def trip(self, exc: BaseException) -> None:
        """Record a failure: open the circuit (logged once per outage, not once per call)."""
        with self._lock:
            was_closed = self._open_until == 0.0
            self._open_until = time.monotonic() + self.pause
        if was_closed:
            logger.warning("%s unreachable (%s: %s): skipping it for %.1f s at a time until it answers",
                           self.name, type(exc).__name__, exc, self.pause)

    def reset(self) -> None:
        """Record a success: close the circuit."""
        if self._open_until:
            with self._lock:
                self._open_until = 0.0
            logger.warning("%s answers again", self.name)


cache_breaker = CircuitBreaker("Redis (cache)")
broker_breaker = CircuitBreaker("Redis (Celery broker)")


class FailFastRedis(redis.Redis):
    """A redis-py client (django-redis's REDIS_CLIENT_CLASS) that fails at once while its circuit is open."""

    breaker = cache_breaker

    def execute_command(self, *args, **options):
        if self.breaker.is_open():
            raise redis.ConnectionError("Redis was unreachable a moment ago; not tried (circuit open)")
        try:
            result = super().execute_command(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.breaker.trip(exc)
            raise
        self.breaker.reset()
        return result


def enqueue(task, *args, **options) -> bool:
    """Queue a Celery task; never raises. Returns whether it was queued.

    For work queued after a commit (alert checks, emails, webhooks): the money operation has
    committed and its response must go out, so a broker outage is logged and the work is left
    for the catch-up jobs. With tasks running eagerly (no Redis) the task runs here, and its
    errors are logged the same way.
    """
    eager = task.app.conf.task_always_eager
    if not eager and broker_breaker.is_open():
        logger.info("not queued (broker unreachable): %s%r", task.name, args)
        return False
    try:
        task.apply_async(args, **options)
    except Exception as exc:
        if not eager:  # eager tasks run here: their own errors say nothing about the broker
            broker_breaker.trip(exc)
        logger.warning("could not queue %s%r: %s: %s", task.name, args, type(exc).__name__, exc)
        return False
    if not eager:
        broker_breaker.reset()
    return True

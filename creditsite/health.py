"""GET /api/v1/health: database, broker and cache status for load balancers and monitors.

`status` is `ok`, `degraded` (200: Redis, the broker and cache, is unreachable; money still moves,
alert checks and webhooks wait for it) or `unavailable` (503: the database is unreachable).
"""

import uuid

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_KEY = "health:probe"


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return False
    return True


def _broker_ok() -> bool:
    if not settings.REDIS_URL:
        return False
    try:
        timeout = settings.REDIS_SOCKET_TIMEOUT
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _cache_ok() -> bool:
    """A write and a read back (the cache fails open, so an unreachable Redis reads as a miss)."""
    token = uuid.uuid4().hex
    try:
        cache.set(PROBE_KEY, token, timeout=10)
        return cache.get(PROBE_KEY) == token
    except Exception:
        return False


@never_cache
@require_GET
def health(request):
    """Report database, broker and cache status; 503 when the database is unreachable."""
    database = _database_ok()
    broker = _broker_ok()
    cache_ok = _cache_ok()
    if not database:
        status = "unavailable"
    elif settings.REDIS_URL and not (broker and cache_ok):
        status = "degraded"
    else:
        status = "ok"  # without REDIS_URL no broker is expected: tasks run in-process
    body = {
        "status": status,
        "database": "ok" if database else "unavailable",
        "broker": "ok" if broker else "unavailable",
        "cache": "ok" if cache_ok else "unavailable",
    }
    return JsonResponse(body, status=200 if database else 503)

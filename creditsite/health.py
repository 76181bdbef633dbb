"""GET /api/v1/health: database and broker status for load balancers and monitors."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


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
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        return bool(client.ping())
    except Exception:
        return False


@never_cache
@require_GET
def health(request):
    """Report database and broker status; 503 when the database is unreachable."""
    database = _database_ok()
    body = {
        "status": "ok" if database else "unavailable",
        "database": "ok" if database else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
    }
    return JsonResponse(body, status=200 if database else 503)

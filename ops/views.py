"""GET /metrics: the Prometheus scrape, for a bearer token (METRICS_TOKEN) only."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import collectors


def _token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@never_cache
@require_GET
def metrics_view(request):
    """The scrape output; 401 without the right `Authorization: Bearer <METRICS_TOKEN>`, 404 when no token is set."""
    if not settings.METRICS_TOKEN:
        return JsonResponse({"code": "not_found", "detail": "Metrics are off: set METRICS_TOKEN."}, status=404)
    if not _token_matches(request):
        response = JsonResponse({"code": "not_authenticated", "detail": "A valid metrics token is required."},
                                status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(collectors.exposition(), content_type=CONTENT_TYPE_LATEST)

"""Request middleware: the request id (X-Request-ID in and out) and the HTTP metrics by route and status."""

import ipaddress
import re
import time
import uuid

import structlog
from django.conf import settings

from . import metrics

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# An incoming id is kept when it is 8-128 characters of letters, digits and . _ : - (a UUID, a proxy's
# hex id, a trace id); anything else is replaced, so log lines never carry a client's arbitrary text.
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{8,128}")


def request_id_for(incoming: str | None) -> str:
    """The id of a request: the caller's X-Request-ID when well-formed, else a new UUID."""
    if incoming and WELL_FORMED_REQUEST_ID.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


def client_address(request) -> str:
    """The client's IP address: REMOTE_ADDR, or with TRUSTED_PROXY the address our proxy appended last to
    X-Forwarded-For (earlier entries are whatever the client sent). Used by request logs and the login throttle."""
    if settings.TRUSTED_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR", "")


class RequestIdMiddleware:
    """Give each request an id and return it as X-Request-ID; bind the client address for the log lines.

    The id is written back into the request's headers, where django-structlog's RequestMiddleware
    (next in line) binds it to every log line of the request and to the headers of the Celery tasks
    the request enqueues (it clears the bound context when the request ends).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request.META.get(REQUEST_ID_META))
        request.META[REQUEST_ID_META] = request_id
        request.request_id = request_id
        request.started_at = time.perf_counter()
        structlog.contextvars.bind_contextvars(ip=client_address(request))
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def route_of(request) -> str:
    """The route name of a request (`api-charges`, `admin:ledger_account_change`), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestMetricsMiddleware:
    """Count every request and time it, by route name, method and status; note the API's money outcomes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        metrics.http_request_recorded(route=route, method=request.method, status=response.status_code,
                                      seconds=time.perf_counter() - started)
        metrics.api_response_recorded(route=route, response=response)
        return response

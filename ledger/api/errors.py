"""The API error format `{"code", "detail", "errors"?}` for DRF errors, ledger domain errors and faults.

Inside DRF views `exception_handler` renders every error; `ApiErrorMiddleware` and the root URLconf's
error handlers (`handler400` ... `handler500`) do it for everything else under /api/, so no response
there is an HTML page or a stack trace, whatever fails.
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response

from ledger.errors import LedgerError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# How long a client should wait before retrying when the database is unavailable (a restart takes seconds).
RETRY_AFTER_SECONDS = 2

# HTTP status -> (code, detail) for errors raised outside a DRF view (routing, middleware, faults).
STATUS_CODES = {
    400: ("invalid", "The request is not valid."),
    401: ("not_authenticated", "Authentication is required."),
    403: ("permission_denied", "You may not do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "The requested response format is not available."),
    413: ("payload_too_large", "The request body is larger than the server accepts."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    429: ("throttled", "Too many requests."),
    500: ("server_error", "The server failed to answer this request; it is safe to retry with the same "
                          "Idempotency-Key."),
    503: ("service_unavailable", "A service the API depends on is unavailable; retry with the same "
                                 "Idempotency-Key after Retry-After seconds."),
}

# DRF exception class -> (status, code) of the contract (api-v1.md, "Errors").
_CODES = [
    (exceptions.NotAuthenticated, 401, "not_authenticated"),
    (exceptions.AuthenticationFailed, 401, "not_authenticated"),
    (exceptions.PermissionDenied, 403, "permission_denied"),
    (exceptions.NotFound, 404, "not_found"),
    (exceptions.Throttled, 429, "throttled"),
    (exceptions.ParseError, 400, "invalid"),
    (exceptions.ValidationError, 400, "invalid"),
    (exceptions.MethodNotAllowed, 405, "method_not_allowed"),
    (exceptions.NotAcceptable, 406, "not_acceptable"),
    (exceptions.UnsupportedMediaType, 415, "unsupported_media_type"),
]


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field" or "items.3.field": ["message", ...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten_errors(value, name).items():
                out.setdefault(field, []).extend(messages)
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]} if detail else {}
        out = {}
        for index, item in enumerate(detail):
            if not item:
                continue
            for field, messages in flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)).items():
                out.setdefault(field, []).extend(messages)
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def error_body(code: str, detail: str, errors: dict | None = None) -> dict:
    """One error body of the contract; `errors` only when there are field messages."""
    body = {"code": code, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, detail: str | None = None, headers: dict | None = None) -> JsonResponse:
    """A JSON error response of the contract for an HTTP status (code and default detail from STATUS_CODES)."""
    code, default = STATUS_CODES.get(status, ("server_error" if status >= 500 else "invalid", "Error."))
    response = JsonResponse(error_body(code, detail or default), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def is_infrastructure_error(exc) -> bool:
    """A fault of a dependency (the database unreachable or restarting), not of the request or the code."""
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response() -> JsonResponse:
    """503 `service_unavailable` with Retry-After: the request may be retried as is."""
    return error_response(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every handled error becomes `{"code", "detail", "errors"?}`."""
    if isinstance(exc, LedgerError):
        return Response(exc.as_dict(), status=exc.status)
    if is_infrastructure_error(exc):
        logger.error("Database unavailable during %s", context["request"].path, exc_info=exc)
        return unavailable_response()
    if isinstance(exc, RequestDataTooBig):
        return error_response(413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500
    headers = {}
    if getattr(exc, "auth_header", None):  # set by APIView.handle_exception for 401s
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    status, code = next(((status, code) for klass, status, code in _CODES if isinstance(exc, klass)),
                        (exc.status_code, "error"))
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(code, "The request is not valid.", flatten_errors(exc.detail) or None)
    elif isinstance(exc, exceptions.ParseError):
        body = error_body(code, "The request body is not valid JSON.", {"non_field_errors": [str(exc.detail)]})
    else:
        body = error_body(code, str(exc.detail))
    return Response(body, status=status, headers=headers)


# --- outside DRF views: the root URLconf's error handlers and a middleware -------------------------


def handler400(request, exception=None):
    """Bad requests (and bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, 413) under /api/ as JSON."""
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    return error_response(413 if isinstance(exception, RequestDataTooBig) else 400)


def handler403(request, exception=None):
    if not is_api_request(request):
        return defaults.permission_denied(request, exception)
    return error_response(403)


def handler404(request, exception=None):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return error_response(404, f"No endpoint {request.path}.")


def handler500(request):
    """Uncaught exceptions: 503 when the database is unavailable, else 500 `server_error` (no stack trace)."""
    if not is_api_request(request):
        return defaults.server_error(request)
    if is_infrastructure_error(sys.exc_info()[1]):
        return unavailable_response()
    return error_response(500)


class ApiErrorMiddleware:
    """Outermost middleware: under /api/, refuse oversized bodies up front and turn any error page into JSON.

    Errors raised in views and middleware reach the error handlers above; this catches what still
    comes back as HTML (a 405 from a plain Django view, a CSRF 403, Django's debug pages).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_request(request):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _declared_length(request) > limit:
            return error_response(413)
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
            replacement = error_response(response.status_code)
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0

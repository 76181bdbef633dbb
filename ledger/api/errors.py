"""The API error format `{"code", "detail", "errors"?}` for DRF errors and ledger domain errors."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from ledger.errors import LedgerError

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


def exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every handled error becomes `{"code", "detail", "errors"?}`."""
    if isinstance(exc, LedgerError):
        return Response(exc.as_dict(), status=exc.status)
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

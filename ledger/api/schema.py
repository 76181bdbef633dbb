"""OpenAPI helpers: error responses, headers and exact field rules, so that a generated client can trust the schema.

Every constraint the server applies and JSON Schema can say is in the schema (amount patterns,
enums, lengths, bounds); the few it cannot say (an opaque cursor, one of two fields) are in the
descriptions.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from ratecards.countries import countries

from .fields import AMOUNT_PATTERNS
from .pagination import MAX_CURSOR_LENGTH
from .serializers import ErrorSerializer

# Text that must not be blank (after trimming) and, like all text, holds no NUL.
NOT_BLANK_TEXT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
ANY_TEXT = r"^[^\u0000]*$"

ERROR_TEXT = {
    400: ("invalid", "Validation failed; field messages in `errors`."),
    401: ("not_authenticated", "No token, or an unknown or revoked one."),
    402: ("insufficient_credits", "A charge, hold, removal or transfer is not covered (insufficient_credits), or "
                                  "the org's spending policy blocks it until it recharges (org_blocked)."),
    403: ("permission_denied", "The token's scope or the user's permissions lack the right."),
    404: ("not_found", "Unknown id, or an object of an org the caller may not see."),
    409: ("credit_management_disabled", "Conflict: credit_management_disabled, idempotency_conflict, "
                                        "transfer_not_allowed, hold_not_active or top_up_not_pending."),
    413: ("payload_too_large", "The request body is larger than the server accepts."),
    422: ("no_rate", "The rate card has no price for this channel, country and category."),
    429: ("throttled", "Too many requests for this token; retry after `Retry-After` seconds."),
    500: ("server_error", "A fault of the server (no stack trace): safe to retry with the same Idempotency-Key."),
    503: ("service_unavailable", "The database is unavailable: retry after `Retry-After` seconds with the same "
                                 "Idempotency-Key."),
}

EXAMPLES = {
    400: {"code": "invalid", "detail": "The request is not valid.",
          "errors": {"amount": ['Amounts must be decimal strings such as "12.5", not JSON numbers.']}},
    401: {"code": "not_authenticated", "detail": "The token is not valid or has been revoked."},
    402: {"code": "insufficient_credits", "detail": "The charge of $12.00 exceeds the $3.50 available."},
    403: {"code": "permission_denied", "detail": "This token lacks the `charge` scope."},
    404: {"code": "not_found", "detail": "Not found."},
    409: {"code": "idempotency_conflict",
          "detail": "This idempotency key was already used with a different request."},
    422: {"code": "no_rate", "detail": "The rate card has no price for this channel, country and category."},
    413: {"code": "payload_too_large", "detail": "The request body is larger than the server accepts."},
    429: {"code": "throttled", "detail": "Request was throttled. Expected available in 12 seconds."},
    500: {"code": "server_error", "detail": "The server failed to answer this request; it is safe to retry with "
                                            "the same Idempotency-Key."},
    503: {"code": "service_unavailable", "detail": "A service the API depends on is unavailable; retry with the "
                                                   "same Idempotency-Key after Retry-After seconds."},
}

RATE_LIMIT_HEADERS = [
    OpenApiParameter("RateLimit-Policy", str, OpenApiParameter.HEADER, response=True,
                     description='The quota that counted this request (IETF draft): `"token";q=6000;w=60` '
                                 "(q requests per w seconds; policies token, session, address)."),
    OpenApiParameter("RateLimit", str, OpenApiParameter.HEADER, response=True,
                     description='What is left of it: `"token";r=5999;t=60` (r requests remain, t seconds until '
                                 "the oldest leaves the window)."),
]
RETRY_AFTER = OpenApiParameter("Retry-After", {"type": "string", "pattern": "^[0-9]+$"}, OpenApiParameter.HEADER,
                               response=[429, 503], description="Seconds to wait before retrying.")
REPLAYED = OpenApiParameter("Idempotent-Replayed", {"type": "string", "enum": ["true"]}, OpenApiParameter.HEADER,
                            response=True, description="Present on a replay: this is the stored first response.")

# Errors any request may meet: bad input, no or bad token, scope, body too large, throttling, faults.
ALWAYS = (400, 401, 403, 413, 429, 500, 503)


def error_responses(*statuses: int) -> dict:
    """OpenAPI responses for the given error statuses plus those every request may meet (ALWAYS)."""
    responses = {}
    for status in sorted({*ALWAYS, *statuses}):
        code, text = ERROR_TEXT[status]
        responses[status] = OpenApiResponse(
            ErrorSerializer, description=text,
            examples=[OpenApiExample(f"{status} {code}", value=EXAMPLES[status], status_codes=[str(status)],
                                     response_only=True)],
        )
    return responses


def responses(success: dict, *statuses: int) -> dict:
    """A success response mapping plus the error responses."""
    return {**success, **error_responses(*statuses)}


def response_headers(*, idempotent: bool = False) -> list[OpenApiParameter]:
    """The response headers of an operation: RateLimit on every answer, Retry-After, Idempotent-Replayed."""
    return [*RATE_LIMIT_HEADERS, RETRY_AFTER, *([REPLAYED] if idempotent else [])]


def api_schema(**kwargs):
    """`extend_schema` for an API operation, adding its response headers (Idempotent-Replayed when it takes a key)."""
    parameters = list(kwargs.pop("parameters", []))
    idempotent = any(getattr(parameter, "name", None) == "Idempotency-Key" for parameter in parameters)
    return extend_schema(parameters=[*parameters, *response_headers(idempotent=idempotent)], **kwargs)


def page_parameters() -> list[OpenApiParameter]:
    """`cursor` (opaque, from `next`) and `page_size` with the bounds the pagination enforces."""
    return [
        OpenApiParameter("cursor", {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": MAX_CURSOR_LENGTH},
                         description="Opaque: pass the `next` URL (or its cursor) of the previous page as is."),
        OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                         description="Rows per page, 1 to 1000."),
    ]


class AmountFieldSchema(OpenApiSerializerFieldExtension):
    """Amounts: decimal strings whose pattern says positive, non-negative or signed, as the field checks."""

    target_class = "ledger.api.fields.AmountField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        name = field.pattern_name if direction == "request" else ("signed" if field.allow_negative else "non_negative")
        schema = {"type": "string", "format": "decimal", "pattern": AMOUNT_PATTERNS[name],
                  "example": "12.5"}
        if field.allow_null:
            schema["nullable"] = True
        return schema


class QuantityFieldSchema(OpenApiSerializerFieldExtension):
    """Quantities: JSON integers from 1 to the field's maximum."""

    target_class = "ledger.api.fields.QuantityField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "integer", "minimum": 1, "example": 3}
        if self.target.maximum is not None:
            schema["maximum"] = self.target.maximum
        return schema


class CountryFieldSchema(OpenApiSerializerFieldExtension):
    """Countries: the ISO 3166-1 alpha-2 codes the server knows, as an enum."""

    target_class = "ledger.api.fields.CountryField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "enum": sorted(countries()), "example": "IN"}
        if self.target.allow_null:
            schema["nullable"] = True
        return schema


class TextFieldSchema(OpenApiSerializerFieldExtension):
    """Text in requests holds no NUL; text that may not be blank has a non-space character (DRF trims it)."""

    target_class = serializers.CharField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and "pattern" not in schema and "enum" not in schema:
            blank_ok = self.target.allow_blank or not self.target.trim_whitespace
            schema["pattern"] = ANY_TEXT if blank_ok else NOT_BLANK_TEXT
        return schema


def closed_request_bodies(result, generator, request, public):
    """SPECTACULAR postprocessing hook: request bodies are declared closed (`additionalProperties: false`), so
    a generated client sends only the fields listed. The server is lenient, not strict: it ignores a field
    it does not declare (docs/api.md), though NUL or over-deep nesting anywhere in a body is still 400."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema.setdefault("additionalProperties", False)
    return result


def strip_trailing_slashes(result, generator, request, public):
    """SPECTACULAR postprocessing hook: document paths as api-v1.md writes them (the slash is optional)."""
    result["paths"] = {path.rstrip("/") or path: item for path, item in result["paths"].items()}
    return result

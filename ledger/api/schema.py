"""OpenAPI helpers: the error responses and examples every endpoint documents."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from .serializers import ErrorSerializer

ERROR_TEXT = {
    400: ("invalid", "Validation failed; field messages in `errors`."),
    401: ("not_authenticated", "No token, or an unknown or revoked one."),
    402: ("insufficient_credits", "A charge, hold, removal or transfer is not covered (insufficient_credits), or "
                                  "the org's spending policy blocks it until it recharges (org_blocked)."),
    403: ("permission_denied", "The token's scope or the user's permissions lack the right."),
    404: ("not_found", "Unknown id, or an object of an org the caller may not see."),
    409: ("credit_management_disabled", "Conflict: credit_management_disabled, idempotency_conflict, "
                                        "transfer_not_allowed or hold_not_active."),
    422: ("no_rate", "The rate card has no price for this channel, country and category."),
    429: ("throttled", "Too many requests for this token; retry after `Retry-After` seconds."),
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
    429: {"code": "throttled", "detail": "Request was throttled. Expected available in 12 seconds."},
}


def error_responses(*statuses: int) -> dict:
    """OpenAPI responses for the given error statuses plus 400, 401, 403 and 429 (always possible)."""
    responses = {}
    for status in sorted({400, 401, 403, 429, *statuses}):
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


def strip_trailing_slashes(result, generator, request, public):
    """SPECTACULAR postprocessing hook: document paths as api-v1.md writes them (the slash is optional)."""
    result["paths"] = {path.rstrip("/") or path: item for path, item in result["paths"].items()}
    return result

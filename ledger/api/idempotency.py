"""The API side of idempotency keys: the header, and the HTTP response of a service's result.

The ledger service records the key and its result in the same transaction as the effect (one
key, one effect, also under concurrency), and keeps the rendered response a retry gets back
(ledger.services.idempotency); this module reads the header and turns results into responses,
`Idempotent-Replayed: true` on a replay.
"""

import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ledger.services.idempotency import http_fingerprint, response_once

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# 1-255 printable ASCII characters, not starting or ending with a space (HTTP strips those).
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"


def idempotency_key(request, *, required: bool = True) -> str | None:
    """The request's Idempotency-Key (1-255 printable ASCII); 400 `invalid` when required and missing."""
    key = request.headers.get(HEADER)
    if key is None or (key == "" and required):
        if required:
            raise ValidationError({HEADER: ["This header is required on requests that move money."]})
        return None
    if not re.fullmatch(KEY_PATTERN, key):
        raise ValidationError({HEADER: ["Use 1-255 printable ASCII characters (no space at either end)."]})
    return key


def fingerprint(request, body) -> str:
    """A hash of the method, the path (trailing slash ignored) and the parsed JSON body."""
    return http_fingerprint(request.method, request.path, body)


def respond(*, actor, key: str | None, result, status: int, render, keep: bool = True) -> Response:
    """The response for a service result: stored after a first run (unless `keep` is False: see
    response_once), replayed (with header) after a retry."""
    status, body, replayed = response_once(actor=actor, key=key, result=result, status=status, render=render,
                                           keep=keep)
    return Response(body, status=status, headers={REPLAYED_HEADER: "true"} if replayed else None)


def key_parameter(required: bool = True) -> OpenApiParameter:
    """The Idempotency-Key header in the OpenAPI schema."""
    return OpenApiParameter(
        HEADER, {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
        OpenApiParameter.HEADER, required=required,
        description="1-255 printable ASCII characters, unique per request. A retry with the same key and body "
                    "returns the first response with `Idempotent-Replayed: true`; the same key with another "
                    "body is refused with 409 `idempotency_conflict`. Keys are kept at least 7 days.",
    )

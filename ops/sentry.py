"""Error reports to Sentry (sentry-sdk), on only when SENTRY_DSN is set, with secrets and payment data scrubbed.

Imported by the settings: it touches no model.
"""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from creditsite.logs import REDACTED, scrub, scrub_text

# Field names Sentry's own scrubber masks wherever they appear, besides its defaults (passwords,
# tokens, cookies, Authorization, ...): payment and billing data, webhook secrets, OTP codes.
DENYLIST = [*DEFAULT_DENYLIST, "secret", "otp_token", "card", "card_number", "cvv", "cvc", "iban", "pan",
            "billing", "billing_address", "billing_details", "payment_method", "payment_details", "x-api-key",
            "webhook_secret", "metrics_token"]


def _scrub_frame(frame: dict) -> None:
    """Local variables of our own code, scrubbed; none of library frames (SQL parameters, sessions, environ)."""
    if not isinstance(frame.get("vars"), dict):
        return
    if frame.get("in_app") is False:
        frame["vars"] = {}
    else:
        frame["vars"] = scrub(frame["vars"])


def before_send(event: dict, hint: dict | None = None) -> dict:
    """Mask what Sentry's scrubber does not know: request headers and body, cookies, query strings,
    exception messages, local variables and breadcrumbs holding tokens, card numbers or billing data.
    Library frames lose their local variables altogether (SQL parameters carry session keys)."""
    request = event.get("request")
    if isinstance(request, dict):
        for part in ("headers", "data", "env"):
            if isinstance(request.get(part), dict):
                request[part] = scrub(request[part])
            elif isinstance(request.get(part), str):
                request[part] = scrub_text(request[part])
        if request.get("cookies"):
            request["cookies"] = REDACTED
        if isinstance(request.get("query_string"), str):
            request["query_string"] = scrub_text(request["query_string"])
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub_text(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            _scrub_frame(frame)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            _scrub_frame(frame)
    if isinstance(event.get("logentry"), dict):
        event["logentry"] = scrub(event["logentry"])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        breadcrumbs["values"] = [scrub(crumb) for crumb in breadcrumbs["values"]]
    for part in ("extra", "contexts", "tags"):
        if isinstance(event.get(part), dict):
            event[part] = scrub(event[part])
    return event


def sentry_init(*, dsn: str, environment: str = "production", traces_sample_rate: float = 0.0,
                transport=None) -> None:
    """Start the Sentry SDK for Django and Celery; no personal data, scrubbed events."""
    options = {"transport": transport} if transport is not None else {}
    sentry_sdk.init(
        dsn=dsn, environment=environment, traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        max_request_body_size="small",  # personal data stays off (the SDK's default)
        event_scrubber=EventScrubber(denylist=DENYLIST, recursive=True),
        before_send=before_send, before_breadcrumb=lambda crumb, hint: scrub(crumb),
        **options,
    )

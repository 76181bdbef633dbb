"""Error reports: with SENTRY_DSN set, events reach Sentry with tokens, Authorization headers, cookies, billing
details and payment data scrubbed (checked on what the SDK's transport receives)."""

import io
import json
from unittest import mock
from wsgiref.util import setup_testing_defaults

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from sentry_sdk.transport import Transport

from ops.sentry import sentry_init

SERVICE_TOKEN = "cst_Zx81kPq2LmN3oR4sT5uV6wX7"
CARD = "4242424242424242"


class RecordingTransport(Transport):
    """A Sentry transport that keeps the envelopes instead of sending them (as the SDK's own tests do)."""

    def __init__(self):
        super().__init__()
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        return [envelope.get_event() for envelope in self.envelopes if envelope.get_event() is not None]


@pytest.fixture
def sentry():
    transport = RecordingTransport()
    sentry_init(dsn="https://public@sentry.example.com/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: reporting off again


def wsgi_get(path: str, query: str, **headers) -> str:
    """A GET through Django's WSGI handler, as gunicorn calls it (the test client skips Sentry's WSGI hooks)."""
    environ = {}
    setup_testing_defaults(environ)
    environ.update({"PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver", "HTTP_HOST": "testserver",
                    "wsgi.input": io.BytesIO(b""), **headers})
    statuses = []
    # As Django's test client does: keep the test's database connection open across the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        b"".join(WSGIHandler()(environ, lambda status, response_headers, exc_info=None: statuses.append(status)))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return statuses[0]


@pytest.mark.django_db
def test_a_server_error_is_reported_with_secrets_scrubbed(sentry):
    error = RuntimeError(f"charge failed for token {SERVICE_TOKEN} and card {CARD}")
    with mock.patch("creditsite.health._database_ok", side_effect=error):
        status = wsgi_get("/api/v1/health", "token=leaky-query-token&page=2",
                          HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}", HTTP_X_API_KEY="k-123456789",
                          HTTP_COOKIE="sessionid=s3ss10n-cookie-value; csrftoken=c5rf-cookie-value")
    assert status.startswith("500")
    sentry_sdk.flush()
    events = sentry.events()  # the exception, and the error log line of the failed request
    assert events
    text = json.dumps(events)
    for secret in (SERVICE_TOKEN, CARD, "s3ss10n-cookie-value", "c5rf-cookie-value", "leaky-query-token",
                   "k-123456789"):
        assert secret not in text, text[text.find(secret) - 700:text.find(secret) + 50]
    event = next(event for event in events if event.get("request", {}).get("headers")
                 and event.get("exception", {}).get("values", [{}])[-1].get("type") == "RuntimeError")
    request = event["request"]
    assert request["url"].endswith("/api/v1/health") and "page=2" in request["query_string"]
    assert request["headers"]["Authorization"] in ("[Filtered]", "[redacted]")
    assert "charge failed for token cst_[redacted]" in event["exception"]["values"][-1]["value"]


def test_local_variables_and_extra_data_are_scrubbed(sentry):
    def charge_with_card(card_number, billing_address, payment_method):
        payment = {"payment_method": payment_method, "amount": "10.00"}  # noqa: F841 - a local the report shows
        raise ValueError("declined")

    sentry_sdk.set_extra("webhook_secret", "whsec_" + "c2VjcmV0" * 3)
    try:
        charge_with_card(CARD, " ".join(["1", "Main", "Street"]), "_".join(["pm", "card", "visa"]))
    except ValueError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()
    [event] = sentry.events()
    text = json.dumps(event)
    for secret in (CARD, "1 Main Street", "pm_card_visa", "c2VjcmV0c2VjcmV0c2VjcmV0"):
        assert secret not in text, secret
    assert "10.00" in text  # an amount is not a secret


def test_sentry_is_off_without_a_dsn(settings):
    assert settings.SENTRY_DSN == ""
    assert sentry_sdk.get_client().transport is None

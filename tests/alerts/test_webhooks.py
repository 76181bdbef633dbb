"""Outbound webhooks against a tiny HTTP server on 127.0.0.1: signature, retries with backoff, delivery log."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from alerts import webhooks
from alerts.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from alerts.tasks import deliver_webhook
from tests.factories import make_org


@pytest.fixture
def receiver():
    """A local HTTP server answering with the queued statuses (then 200), recording every request."""

    class Receiver:
        requests: list = []
        statuses: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            Receiver.requests.append((dict(self.headers), body))
            status = Receiver.statuses.pop(0) if Receiver.statuses else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"nope")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/credits"
    Receiver.requests, Receiver.statuses = [], []
    yield Receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(db, receiver):
    org = make_org(currency="USD", timezone_name="UTC")
    return WebhookEndpoint.objects.create(organization=org, url=receiver.url, secret="s3cret",
                                          events=["balance.low", "credits.expiring"])


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    import hashlib
    import hmac

    expected = hmac.new(b"key", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest()
    assert webhooks.signature("key", 1700000000, '{"a":1}') == expected
    assert webhooks.signature_valid("key", "1700000000", b'{"a":1}', f"sha256={expected}")
    assert not webhooks.signature_valid("key", "1700000001", b'{"a":1}', f"sha256={expected}")
    assert not webhooks.signature_valid("other", "1700000000", b'{"a":1}', f"sha256={expected}")


def test_event_is_delivered_signed_after_commit(endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        deliveries = webhooks.event_publish(organization=endpoint.organization, event="balance.low",
                                            data={"available": "4.5"})
    assert len(deliveries) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.delivered_at is not None

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert headers["X-Credits-Event"] == "balance.low"
    assert headers["X-Credits-Delivery"] == str(delivery.pk)
    assert webhooks.signature_valid("s3cret", headers["X-Credits-Timestamp"], body, headers["X-Credits-Signature"])
    payload = json.loads(body)
    assert payload["event"] == "balance.low"
    assert payload["id"] == str(delivery.pk)
    assert payload["organization"]["wallet_id"] == endpoint.organization.wallet_id
    assert payload["data"] == {"available": "4.5"}


def test_only_subscribed_active_endpoints_receive_an_event(endpoint):
    other = WebhookEndpoint.objects.create(organization=endpoint.organization, url="http://127.0.0.1:9/x",
                                           events=["balance.low"], is_active=False)
    assert webhooks.event_publish(organization=endpoint.organization, event="ratecard.activated", data={}) == []
    published = webhooks.event_publish(organization=endpoint.organization, event="balance.low", data={})
    assert [d.endpoint for d in published] == [endpoint]
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()


def test_failed_attempts_are_retried_until_delivered(endpoint, receiver):
    receiver.statuses = [500, 503]
    [delivery] = webhooks.event_publish(organization=endpoint.organization, event="balance.low", data={})
    # Eager Celery re-runs a retried task at once (ignoring the countdown) when it does not propagate.
    conf = deliver_webhook.app.conf
    propagates, conf.task_eager_propagates = conf.task_eager_propagates, False
    try:
        with mock.patch.object(deliver_webhook, "retry", wraps=deliver_webhook.retry) as retry:
            deliver_webhook.delay(str(delivery.pk))
    finally:
        conf.task_eager_propagates = propagates
    assert [call.kwargs["countdown"] for call in retry.call_args_list] == [30, 60]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.DELIVERED, 3, 200)
    assert len(receiver.requests) == 3
    # Every attempt is signed afresh; the delivery id stays the same (receivers dedupe on it).
    assert {headers["X-Credits-Delivery"] for headers, _ in receiver.requests} == {str(delivery.pk)}


def test_a_delivery_fails_for_good_after_the_last_attempt(endpoint, receiver):
    receiver.statuses = [500] * webhooks.MAX_ATTEMPTS
    [delivery] = webhooks.event_publish(organization=endpoint.organization, event="balance.low", data={})
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        webhooks.delivery_attempt(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        assert delivery.status == (DeliveryStatus.FAILED if attempt == webhooks.MAX_ATTEMPTS
                                   else DeliveryStatus.RETRYING)
    assert delivery.response_status == 500 and delivery.error == "HTTP 500"
    webhooks.delivery_attempt(delivery.pk)  # a failed delivery is not sent again
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS


def test_network_errors_are_logged_and_retried(endpoint):
    endpoint.url = "http://127.0.0.1:9/closed-port"
    endpoint.save()
    [delivery] = webhooks.event_publish(organization=endpoint.organization, event="balance.low", data={})
    webhooks.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.response_status is None
    assert "refused" in delivery.error.lower() or "error" in delivery.error.lower()


def test_backoff_doubles_and_is_capped():
    assert [webhooks.backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert webhooks.backoff_seconds(20) == 480


def test_endpoint_validation(db):
    org = make_org()
    bad = WebhookEndpoint(organization=org, url="ftp://example.com/x", events=["balance.low", "nope"])
    with pytest.raises(ValidationError) as excinfo:
        bad.full_clean()
    assert set(excinfo.value.message_dict) == {"url", "events"}
    assert excinfo.value.message_dict["events"] == ["Unknown events: nope."]

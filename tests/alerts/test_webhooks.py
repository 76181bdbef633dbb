"""Outbound webhooks against a tiny HTTP server on 127.0.0.1: Standard Webhooks signatures (verified with the
`standardwebhooks` library), retries with backoff, the delivery log, test events and redelivery."""

import base64
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from alerts import webhooks
from alerts.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, generate_secret
from alerts.tasks import deliver_webhook
from tests.factories import make_org

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two bytes").decode()


@pytest.fixture
def receiver():
    """A local HTTP server answering with the queued statuses (then 200), recording every request."""

    class Receiver:
        requests: list = []
        statuses: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            Receiver.requests.append(({name.lower(): value for name, value in self.headers.items()}, body))
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
    return WebhookEndpoint.objects.create(organization=org, url=receiver.url, secret=SECRET,
                                          events=["balance.low", "credits.expiring"])


def test_signature_follows_the_standard_webhooks_scheme():
    at = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000
    headers = webhooks.signed_headers(secret=SECRET, msg_id="msg_1", body='{"a":1}', at=at)
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == "1700000000"
    import hashlib
    import hmac

    expected = hmac.new(b"a test secret of thirty-two bytes", b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_event_is_delivered_signed_after_commit_and_verifies_with_standardwebhooks(
        endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        deliveries = webhooks.event_publish(organization=endpoint.organization, event="balance.low",
                                            data={"available": "4.5"})
    assert len(deliveries) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.delivered_at is not None

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert headers["webhook-id"] == str(delivery.pk)
    # The receiver's side: the standardwebhooks library's own verify accepts it and returns the payload...
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert payload["type"] == "balance.low"
    assert payload["data"]["organization"]["wallet_id"] == endpoint.organization.wallet_id
    assert payload["data"]["available"] == "4.5"
    # ...and refuses a tampered body, another secret, and an old timestamp (a replay).
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body.replace(b"4.5", b"450"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)
    stale = webhooks.signed_headers(secret=endpoint.secret, msg_id=str(delivery.pk), body=body.decode(),
                                    at=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(endpoint.secret).verify(body, stale)


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
    # Every attempt is signed afresh; the webhook-id stays the same (receivers dedupe on it).
    assert {headers["webhook-id"] for headers, _ in receiver.requests} == {str(delivery.pk)}
    for headers, body in receiver.requests:
        Webhook(endpoint.secret).verify(body, headers)


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
    bad = WebhookEndpoint(organization=org, url="ftp://example.com/x", events=["balance.low", "nope"],
                          secret="s3cret")
    with pytest.raises(ValidationError) as excinfo:
        bad.full_clean()
    assert set(excinfo.value.message_dict) == {"url", "events", "secret"}
    assert excinfo.value.message_dict["events"] == ["Unknown events: nope."]
    with pytest.raises(ValidationError, match="Unknown events: webhook.test"):  # sent on demand, not subscribed
        WebhookEndpoint(organization=org, url="https://x.example.com", events=["webhook.test"]).full_clean()
    assert WebhookEndpoint(organization=org).secret.startswith("whsec_")  # a generated secret is valid
    WebhookEndpoint(organization=org, url="https://x.example.com", events=["balance.low"]).full_clean()


def test_admin_sends_a_test_event_that_verifies(endpoint, receiver, admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/alerts/webhookendpoint/",
                                     {"action": "send_test_event", "_selected_action": [endpoint.pk]})
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status) == ("webhook.test", DeliveryStatus.DELIVERED)
    headers, body = receiver.requests[0]
    assert Webhook(endpoint.secret).verify(body, headers)["type"] == "webhook.test"


def test_admin_redelivers_a_failed_delivery(endpoint, receiver, admin_client, django_capture_on_commit_callbacks):
    receiver.statuses = [500] * webhooks.MAX_ATTEMPTS
    [delivery] = webhooks.event_publish(organization=endpoint.organization, event="balance.low", data={})
    for _ in range(webhooks.MAX_ATTEMPTS):
        webhooks.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/alerts/webhookdelivery/",
                                     {"action": "redeliver", "_selected_action": [str(delivery.pk)]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    headers, body = receiver.requests[-1]
    assert headers["webhook-id"] == str(delivery.pk)
    Webhook(endpoint.secret).verify(body, headers)


def test_legacy_secrets_keep_their_key_bytes(db):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("alerts.migrations.0003_standard_webhook_secrets")
    org = make_org()
    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://x.example.com", events=["balance.low"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret="old-s3cret")
    migration.wrap_legacy_secrets(apps, None)
    endpoint.refresh_from_db()
    assert endpoint.secret == "whsec_" + base64.b64encode(b"old-s3cret").decode()
    signed = webhooks.signed_headers(secret=endpoint.secret, msg_id="m", body="{}")
    assert Webhook(b"old-s3cret").verify("{}", signed) == {}  # a receiver holding the old secret's bytes

"""Email through providers (django-anymail under Django 6.1's MAILERS) and their bounce webhooks: recorded per
recipient, shown in the admin, and skipped by alert emails until cleared."""

import base64
import json
from unittest import mock

import pytest
import requests
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from alerts import bounces, emails, services
from alerts.models import EmailEvent, NotificationKind, NotificationLevel
from creditsite.mailers import anymail_settings, provider_mailers
from tests.factories import make_org

pytestmark = pytest.mark.django_db

POSTMARK = {"default": {"BACKEND": "anymail.backends.postmark.EmailBackend", "OPTIONS": {}}}
WEBHOOK_AUTH = "Basic " + base64.b64encode(b"hooks:pw-8c1f9e").decode()
BOUNCE = {
    "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Email": "Gone@Example.com", "From": "credits@example.com",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "BouncedAt": "2026-11-30T17:01:00Z", "Inactive": True, "CanActivate": True, "Subject": "Low credits",
    "ServerID": 1, "MessageStream": "outbound", "Metadata": {},
}


def test_provider_settings_come_from_the_environment():
    assert provider_mailers("Mailgun") == {"default": {"BACKEND": "anymail.backends.mailgun.EmailBackend",
                                                       "OPTIONS": {}}}
    with pytest.raises(ImproperlyConfigured, match="not one of"):
        provider_mailers("pigeon")
    assert anymail_settings({"ANYMAIL_MAILGUN_API_KEY": "key-1", "ANYMAIL_WEBHOOK_SECRET": "u:p",
                             "ANYMAIL_AMAZON_SES_CLIENT_PARAMS": '{"region_name": "eu-west-1"}',
                             "ANYMAIL_": "ignored", "EMAIL_URL": "smtp://x"}) == {
        "MAILGUN_API_KEY": "key-1", "WEBHOOK_SECRET": "u:p", "AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"}}


def _postmark_answer(*args, **kwargs):
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps({"To": "ops@example.com", "SubmittedAt": "2026-12-01T10:00:00Z",
                                    "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d", "ErrorCode": 0,
                                    "Message": "OK"}).encode()
    response.encoding = "utf-8"
    return response


@override_settings(MAILERS=POSTMARK, ANYMAIL={"POSTMARK_SERVER_TOKEN": "pm-server-token"})
def test_alert_emails_go_through_the_provider_api_configured_in_mailers():
    org = make_org()
    alert_settings = services.alert_settings_get_or_create(organization=org)
    alert_settings.recipients = ["ops@example.com"]
    alert_settings.save()
    notification = services.notification_create(organization=org, kind=NotificationKind.LOW_BALANCE,
                                                 level=NotificationLevel.WARNING, title="Low credits",
                                                 message="Add credits.", email=False)
    with mock.patch("requests.Session.request", side_effect=_postmark_answer) as sent:
        assert emails.notification_email(notification_id=notification.pk) == ["ops@example.com"]
    call = sent.call_args
    assert (call.kwargs["method"], call.kwargs["url"]) == ("POST", "https://api.postmarkapp.com/email")
    assert call.kwargs["headers"]["X-Postmark-Server-Token"] == "pm-server-token"
    body = json.loads(call.kwargs["data"])
    assert body["To"] == "ops@example.com" and body["Subject"].endswith("Low credits")
    assert "Add credits." in body["TextBody"] and body["HtmlBody"]


@override_settings(ANYMAIL={"WEBHOOK_SECRET": "hooks:pw-8c1f9e"})
def test_a_bounce_webhook_is_recorded_against_the_recipient(client):
    url = "/anymail/postmark/tracking/"
    refused = client.post(url, BOUNCE, content_type="application/json")  # no credentials
    assert refused.status_code in (400, 401, 403) and not EmailEvent.objects.exists()
    for _ in range(2):  # providers repeat webhooks: recorded once
        response = client.post(url, BOUNCE, content_type="application/json", HTTP_AUTHORIZATION=WEBHOOK_AUTH)
        assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert (event.recipient, event.event, event.provider) == ("gone@example.com", "bounced", "Postmark")
    assert event.message_id == BOUNCE["MessageID"] and "550 5.1.1" in event.reason
    assert event.occurred_at.isoformat() == "2026-11-30T17:01:00+00:00"
    delivered = {**BOUNCE, "RecordType": "Delivery", "ID": 1, "DeliveredAt": "2026-11-30T17:00:00Z"}
    client.post(url, delivered, content_type="application/json", HTTP_AUTHORIZATION=WEBHOOK_AUTH)
    assert EmailEvent.objects.count() == 1  # deliveries, opens and clicks are not recorded


def test_alert_emails_skip_bounced_addresses_until_cleared(settings, admin_client):
    org = make_org()
    alert_settings = services.alert_settings_get_or_create(organization=org)
    alert_settings.recipients = ["gone@example.com", "ops@example.com"]
    alert_settings.save()
    bounces.email_event_record(recipient="Gone@example.com", event="bounced", provider="Postmark")

    def notify():
        mail.outbox.clear()
        notification = services.notification_create(organization=org, kind=NotificationKind.LOW_BALANCE,
                                                     level=NotificationLevel.WARNING, title="Low credits",
                                                     message="Add credits.", email=False)
        return emails.notification_email(notification_id=notification.pk)

    assert notify() == ["ops@example.com"] and mail.outbox[0].to == ["ops@example.com"]
    page = admin_client.get("/admin/alerts/emailevent/")
    assert page.status_code == 200 and "gone@example.com" in page.text
    event = EmailEvent.objects.get()
    admin_client.post("/admin/alerts/emailevent/", {"action": "clear", "_selected_action": [event.pk]})
    assert notify() == ["gone@example.com", "ops@example.com"]
    bounces.email_event_record(recipient="gone@example.com", event="complained", provider="Postmark")
    settings.ALERT_EMAIL_SKIP_BOUNCED = False
    assert notify() == ["gone@example.com", "ops@example.com"]  # the switch is off

"""Webhooks follow Standard Webhooks: secrets become `whsec_<base64>`, and a `webhook.test` event exists.

A secret of the old scheme is kept as the same key bytes: `whsec_` + base64(old secret), so a
receiver that has the old secret can derive the new form (docs/jobs-and-alerts.md).
"""

import base64

import alerts.models
from django.db import migrations, models


def wrap_legacy_secrets(apps, schema_editor):
    endpoint_model = apps.get_model("alerts", "WebhookEndpoint")
    for endpoint in endpoint_model.objects.exclude(secret__startswith="whsec_").only("pk", "secret"):
        endpoint.secret = "whsec_" + base64.b64encode(endpoint.secret.encode()).decode()
        endpoint.save(update_fields=["secret"])


def unwrap_secrets(apps, schema_editor):
    endpoint_model = apps.get_model("alerts", "WebhookEndpoint")
    for endpoint in endpoint_model.objects.filter(secret__startswith="whsec_").only("pk", "secret"):
        endpoint.secret = base64.b64decode(endpoint.secret.removeprefix("whsec_")).decode(errors="replace")
        endpoint.save(update_fields=["secret"])


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0002_roles"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookdelivery",
            name="event",
            field=models.CharField(choices=[("balance.low", "balance.low"), ("balance.recovered", "balance.recovered"), ("balance.depleted", "balance.depleted"), ("credits.expiring", "credits.expiring"), ("ratecard.activated", "ratecard.activated"), ("webhook.test", "webhook.test")], max_length=32),
        ),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=models.CharField(default=alerts.models.generate_secret, help_text="Signing secret (Standard Webhooks, whsec_...): give it to the receiver, which verifies the webhook-signature header with it.", max_length=100, validators=[alerts.models.validate_secret]),
        ),
        migrations.RunPython(wrap_legacy_secrets, unwrap_secrets),
    ]

"""Bounces and complaints reported by email providers, recorded against the recipient."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0003_standard_webhook_secrets"),
    ]

    operations = [
        migrations.CreateModel(
            name="EmailEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("recipient", models.EmailField(db_index=True, max_length=254)),
                ("event", models.CharField(choices=[("bounced", "Bounced"), ("complained", "Complained (marked as spam)"), ("rejected", "Rejected by the provider"), ("unsubscribed", "Unsubscribed"), ("failed", "Failed")], max_length=16)),
                ("provider", models.CharField(help_text="The email provider that reported it (anymail's ESP name).", max_length=40)),
                ("occurred_at", models.DateTimeField(help_text="When the provider says it happened.")),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("message_id", models.CharField(blank=True, help_text="The provider's id of the message.", max_length=255)),
                ("provider_event_id", models.CharField(blank=True, help_text="The provider's id of this event (repeated webhooks are ignored).", max_length=255)),
                ("reason", models.TextField(blank=True, help_text="The provider's reason or the receiving server's answer.")),
                ("cleared_at", models.DateTimeField(blank=True, help_text="Set when staff allow alert emails to this address again.", null=True)),
            ],
            options={
                "ordering": ["-occurred_at", "-id"],
                "constraints": [models.CheckConstraint(condition=models.Q(("event__in", ["bounced", "complained", "rejected", "unsubscribed", "failed"])), name="email_event_kind_valid"), models.UniqueConstraint(condition=models.Q(("provider_event_id", ""), _negated=True), fields=("provider", "provider_event_id"), name="one_email_event_per_provider_id")],
            },
        ),
    ]

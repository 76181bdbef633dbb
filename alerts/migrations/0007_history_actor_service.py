"""Who made a change: the service (token name) on every alerts history row, next to the user."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0006_alert_catch_up'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalalertsettings',
            name='history_actor_service',
            field=models.CharField(blank=True, default='', help_text='The service token (or job) that made the change when no user did.', max_length=100),
        ),
        migrations.AddField(
            model_name='historicalwebhookendpoint',
            name='history_actor_service',
            field=models.CharField(blank=True, default='', help_text='The service token (or job) that made the change when no user did.', max_length=100),
        ),
    ]

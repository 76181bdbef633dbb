"""Who made a change: the service (token name) on every org history row, next to the user."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0017_console_form_tokens'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalorganization',
            name='history_actor_service',
            field=models.CharField(blank=True, default='', help_text='The service token (or job) that made the change when no user did.', max_length=100),
        ),
    ]

"""Who made a change: the service (token name) on every rate card history row, next to the user."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ratecards', '0002_rate_history'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalrate',
            name='history_actor_service',
            field=models.CharField(blank=True, default='', help_text='The service token (or job) that made the change when no user did.', max_length=100),
        ),
        migrations.AddField(
            model_name='historicalratecardversion',
            name='history_actor_service',
            field=models.CharField(blank=True, default='', help_text='The service token (or job) that made the change when no user did.', max_length=100),
        ),
    ]

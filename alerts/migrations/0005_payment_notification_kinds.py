"""Notification kinds of buying credits: credits bought, auto-recharge failed, a payment to refund."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0004_email_events'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='notification',
            name='notification_kind_valid',
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('low_balance', 'Low balance'), ('balance_recovered', 'Balance recovered'), ('negative_balance', 'Negative balance'), ('credits_expiring', 'Credits expiring'), ('ratecard_activated', 'Rate card change in effect'), ('runway', 'Credits running out'), ('top_up_paid', 'Credits bought'), ('auto_recharge_failed', 'Auto-recharge failed'), ('payment_refund_due', 'Payment to refund')], max_length=24),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['low_balance', 'balance_recovered', 'negative_balance', 'credits_expiring', 'ratecard_activated', 'runway', 'top_up_paid', 'auto_recharge_failed', 'payment_refund_due'])), name='notification_kind_valid'),
        ),
    ]

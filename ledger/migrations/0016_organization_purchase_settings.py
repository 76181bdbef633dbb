"""Per-org purchase settings: the expiry of bought credits (default never) and individual user credits."""

from django.db import migrations, models

from ledger.sqlfiles import sqlite_guards_rebuilt

EXPIRES_IN = [("1M", "1 month"), ("2M", "2 months"), ("3M", "3 months"), ("6M", "6 months"), ("1Y", "1 year"),
              ("never", "Never")]
PURCHASE_EXPIRES_IN = models.CharField(
    choices=EXPIRES_IN, default="never", max_length=5,
    help_text="Expiry of credits bought through top-ups, counted from the payment in the org's timezone.")
INDIVIDUAL_USER_CREDITS = models.BooleanField(
    default=False, help_text="Subaccount users buy and manage the credits of their own subaccounts.")


class Migration(migrations.Migration):

    dependencies = [("ledger", "0015_payment_system_accounts")]

    operations = sqlite_guards_rebuilt(
        migrations.AddField(model_name="organization", name="purchase_expires_in", field=PURCHASE_EXPIRES_IN),
        migrations.AddField(model_name="historicalorganization", name="purchase_expires_in",
                            field=PURCHASE_EXPIRES_IN.clone()),
        migrations.AddField(model_name="organization", name="individual_user_credits", field=INDIVIDUAL_USER_CREDITS),
        migrations.AddField(model_name="historicalorganization", name="individual_user_credits",
                            field=INDIVIDUAL_USER_CREDITS.clone()),
        migrations.AddConstraint(
            model_name="organization",
            constraint=models.CheckConstraint(condition=models.Q(("purchase_expires_in__in", [c for c, _ in EXPIRES_IN])),
                                              name="organization_purchase_expires_in_valid"),
        ),
    )

"""System accounts of bought credits: payments clearing (what the customer paid) and tax payable."""

from django.db import migrations, models

from ledger.sqlfiles import sqlite_guards_rebuilt

CODES = ["issued", "purchases", "usage", "expired", "removals", "receivables"]


class Migration(migrations.Migration):

    dependencies = [("ledger", "0014_balance_checked_per_statement")]

    operations = sqlite_guards_rebuilt(
        migrations.RemoveConstraint(model_name="systemaccount", name="system_account_code_valid"),
        migrations.AlterField(
            model_name="systemaccount",
            name="code",
            field=models.CharField(choices=[("issued", "Issued credits"), ("purchases", "Purchases"),
                                            ("usage", "Usage"), ("expired", "Expired credits"),
                                            ("removals", "Removals"), ("receivables", "Receivables"),
                                            ("payments_clearing", "Payments clearing"),
                                            ("tax_payable", "Tax payable")], max_length=20),
        ),
        migrations.AddConstraint(
            model_name="systemaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("code__in", [*CODES, "payments_clearing", "tax_payable"])),
                name="system_account_code_valid"),
        ),
    )

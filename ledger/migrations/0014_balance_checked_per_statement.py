"""A transaction's balance checked when its INSERT statement ends (ledger/sql/0014_*.sql)."""

from django.db import migrations

from ledger.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("ledger", "0013_restore_one_expiry_per_lot")]

    operations = [run_sql_file("0014_balance_checked_per_statement", restores=("0011_charge_function",))]

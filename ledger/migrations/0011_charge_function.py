"""ledger_charge(): a charge without a hold in one round trip on PostgreSQL (ledger/sql/0011_*.sql)."""

from django.db import migrations

from ledger.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_wallet_id_label")]

    operations = [run_sql_file("0011_charge_function")]

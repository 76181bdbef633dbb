"""Check postings once per INSERT statement instead of once per row (ledger/sql/0009_*.sql)."""

from django.db import migrations

from ledger.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("ledger", "0008_lean_ledger_indexes")]

    operations = [run_sql_file("0009_balanced_per_statement")]

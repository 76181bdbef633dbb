"""Append-only ledger rows and balanced transactions, enforced by the database (ledger/sql/)."""

from django.db import migrations

from ledger.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_initial")]

    operations = [run_sql_file("0003_ledger_guards")]

"""Restore the one_expiry_per_lot unique index on PostgreSQL.

Migration 0008 (AlterField of Transaction.lot to db_index=False) also dropped this partial unique index
on PostgreSQL, while Django's migration state kept it. tests/ledger/test_guards.py now checks that
every constraint and index the models declare exists in the database.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_ledger_references")]

    operations = [
        migrations.RunSQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS one_expiry_per_lot ON ledger_transaction (lot_id) "
            "WHERE kind = 'expiry'",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]

"""TRUNCATE of the ledger's tables is refused; a posting's account must be an account of its transaction's org.

Applies the current files ledger/sql/functions/ledger_refuse_truncate.sql and
ledger_check_statement_balanced.sql, and ledger/sql/sqlite_guards.sql (pinned by hash).
"""

from django.db import migrations

from ledger.sqlfiles import ApplyCurrentSQL, pinned_text, statements

TRUNCATE_GUARDED = ["ledger_organization", "ledger_account", "ledger_systemaccount", "ledger_creditlot",
                    "ledger_transaction", "ledger_posting", "ledger_hold", "ledger_creditlimitchange",
                    "ledger_historicalorganization"]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0019_current_sql_files")]

    operations = [
        ApplyCurrentSQL(
            {
                "functions/ledger_refuse_truncate.sql": "33d78bc94767",
                "functions/ledger_check_statement_balanced.sql": "70146167cf0b",
                "sqlite_guards.sql": "082dabddd1a2",
            },
            reverse_sql={
                "postgresql": [
                    *[f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in TRUNCATE_GUARDED],
                    "DROP FUNCTION IF EXISTS ledger_refuse_truncate()",
                    *statements(pinned_text("functions/ledger_check_statement_balanced.sql", "8a9c6b54c88d")),
                ],
                "sqlite": statements(pinned_text("sqlite_guards.sql", "a84cae1158e7")),
            },
        ),
    ]

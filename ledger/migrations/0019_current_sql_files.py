"""The ledger's SQL from the current files of ledger/sql/ (pinned by hash): ledger_charge() serves holds and
hold captures and reports the lots it expired; the unused ledger_check_balanced() (0003) is dropped."""

from django.db import migrations

from ledger.sqlfiles import ApplyCurrentSQL, frozen_statements, run_statements

OLD_CHARGE = ("ledger_charge(uuid, uuid, uuid, text, numeric, numeric, integer, text, text, text, text, text, bigint, "
              "integer, text, timestamptz, bigint, bigint, text, text, text, text)")
NEW_CHARGE = ("ledger_charge(uuid, uuid, uuid, text, text, numeric, numeric, integer, text, text, text, text, text, "
              "bigint, uuid, integer, text, timestamptz, bigint, bigint, text, text, text, text)")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0018_history_actor_service")]

    operations = [
        run_statements(
            forward={"postgresql": [f"DROP FUNCTION IF EXISTS {OLD_CHARGE}",
                                    "DROP FUNCTION IF EXISTS ledger_check_balanced()"]},
            reverse={"postgresql": [
                *frozen_statements("0003_ledger_guards", "postgresql", starting="CREATE OR REPLACE FUNCTION ledger_check_balanced"),
                *frozen_statements("0014_balance_checked_per_statement", "postgresql",
                                   starting="CREATE OR REPLACE FUNCTION ledger_charge("),
            ]},
        ),
        ApplyCurrentSQL(
            {
                "functions/ledger_refuse_change.sql": "c06163edc3e6",
                "functions/ledger_check_transaction_refs.sql": "23b03a999cf5",
                "functions/ledger_check_statement_balanced.sql": "8a9c6b54c88d",
                "functions/ledger_refuse_referenced_delete.sql": "95efea3be0e9",
                "functions/ledger_note_unposted_transactions.sql": "b7757221ac4d",
                "functions/ledger_check_unposted_transaction.sql": "5ae6aa9e41be",
                "functions/ledger_charge.sql": "cf984cb391a5",
                "sqlite_guards.sql": "a84cae1158e7",
            },
            reverse_sql={
                "postgresql": [
                    f"DROP FUNCTION IF EXISTS {NEW_CHARGE}",
                ],
                "sqlite": [],
            },
        ),
    ]

"""ledger_charge() also returns how long it waited for the funding account's row lock (`lock_wait`, seconds),
for the lock-wait metric (ops): a new result column, so the function is dropped and created again
(ledger/sql/functions/ledger_charge.sql, pinned by hash)."""

from django.db import migrations

from ledger.sqlfiles import ApplyCurrentSQL, pinned_text, run_statements, statements

CHARGE = ("ledger_charge(uuid, uuid, uuid, text, text, numeric, numeric, integer, text, text, text, text, text, "
          "bigint, uuid, integer, text, timestamptz, bigint, bigint, text, text, text, text)")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0022_day_totals")]

    operations = [
        run_statements(forward={"postgresql": [f"DROP FUNCTION IF EXISTS {CHARGE}"]}, reverse={}),
        ApplyCurrentSQL(
            {"functions/ledger_charge.sql": "189dbcba5a52"},
            reverse_sql={"postgresql": [f"DROP FUNCTION IF EXISTS {CHARGE}",
                                        *statements(pinned_text("functions/ledger_charge.sql", "fe782a52fdf2"))]},
        ),
    ]

"""The daily totals trigger looks each account (and its org's timezone) up once per account and instant
instead of once per posting: 1,000 lookups instead of 5,000 for an expiry chunk (issue 19, lot expiry).

Applies the current file ledger/sql/functions/ledger_day_totals.sql (pinned by hash); reversed by the text
migration 0022 applied.
"""

from django.db import migrations

from ledger.sqlfiles import ApplyCurrentSQL, pinned_text, statements


class Migration(migrations.Migration):
    dependencies = [("ledger", "0030_txn_lot_without_expiry")]

    operations = [
        ApplyCurrentSQL(
            {"functions/ledger_day_totals.sql": "7e7d6b03a070"},
            reverse_sql={"postgresql": statements(pinned_text("functions/ledger_day_totals.sql", "c5913b4b88bb"))},
        ),
    ]

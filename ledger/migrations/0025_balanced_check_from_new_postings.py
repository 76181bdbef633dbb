"""The balance check of new postings sums the statement's own postings instead of reading each transaction's
postings back from the table (half the time of a 5,000-lot expiry statement went there).

Applies the current file ledger/sql/functions/ledger_check_statement_balanced.sql (pinned by hash);
reversed by the text migration 0020 applied.
"""

from django.db import migrations

from ledger.sqlfiles import ApplyCurrentSQL, pinned_text, statements


class Migration(migrations.Migration):
    dependencies = [("ledger", "0024_self_service")]

    operations = [
        ApplyCurrentSQL(
            {"functions/ledger_check_statement_balanced.sql": "51a6b81d4609"},
            reverse_sql={
                "postgresql": statements(pinned_text("functions/ledger_check_statement_balanced.sql",
                                                     "70146167cf0b")),
            },
        ),
    ]

"""The SQL functions of the CSV exports PostgreSQL writes with COPY (ledger/finance/csv.py, issue 19):
`ledger_spreadsheet_cell` (the formula neutralisation of `spreadsheet_cell`) and `ledger_iso_time` (a
moment as `datetime.isoformat()` writes it in a zone), pinned by hash (ledger/sql/functions/)."""

from django.db import migrations

from ledger.sqlfiles import ApplyCurrentSQL


class Migration(migrations.Migration):
    dependencies = [("ledger", "0025_balanced_check_from_new_postings")]

    operations = [
        ApplyCurrentSQL(
            {"functions/ledger_spreadsheet_cell.sql": "eda4304935c9", "functions/ledger_iso_time.sql": "3714f43d8333"},
            reverse_sql={"postgresql": ["DROP FUNCTION IF EXISTS ledger_spreadsheet_cell(text)",
                                        "DROP FUNCTION IF EXISTS ledger_iso_time(timestamptz, text, text)"]},
        ),
    ]

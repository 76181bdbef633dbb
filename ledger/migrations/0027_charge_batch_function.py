"""Batches on the database path (issue 19): ledger_charge_batch() charges up to 1,000 items on one account in one
round trip. The rules of a charge move from ledger_charge() into ledger_charge_items(), which both call (one home
in SQL), and the key claim into ledger_claim_key(); ledger_charge() keeps its signature and behaviour
(ledger/sql/functions/*.sql, pinned by hash)."""

from django.db import migrations

from ledger.sqlfiles import ApplyCurrentSQL, pinned_text, statements

ITEMS = ("ledger_charge_items(uuid, uuid, uuid, text, text, numeric[], numeric[], integer[], text[], text[], text[], "
         "text[], text[], bigint[], text[], integer, text, timestamptz, bigint, bigint, boolean)")
BATCH = ("ledger_charge_batch(uuid, uuid, uuid, text, boolean, numeric[], numeric[], integer[], text[], text[], "
         "text[], text[], text[], bigint[], text[], integer, text, timestamptz, bigint, bigint, text, text, text, text)")
CLAIM = "ledger_claim_key(text, text, text, text)"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0026_csv_copy_functions")]

    operations = [
        ApplyCurrentSQL(
            {"functions/ledger_claim_key.sql": "1de607910f53",
             "functions/ledger_charge_items.sql": "f4b472b53b38",
             "functions/ledger_charge.sql": "30162e219e31",
             "functions/ledger_charge_batch.sql": "09e2baf4c815"},
            reverse_sql={"postgresql": [*statements(pinned_text("functions/ledger_charge.sql", "189dbcba5a52")),
                                        f"DROP FUNCTION IF EXISTS {BATCH}", f"DROP FUNCTION IF EXISTS {ITEMS}",
                                        f"DROP FUNCTION IF EXISTS {CLAIM}"]},
        ),
    ]

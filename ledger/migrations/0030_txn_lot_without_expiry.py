"""Expiry entries leave txn_lot (issue 19, lot expiry): one_expiry_per_lot already indexes them by lot, so an
expiry run wrote each lot id into two indexes (at random places: a chunk's lots are scattered in lot-id order).

The lot delete guard (ledger/sql/functions/ledger_refuse_referenced_delete.sql, pinned by hash) looks a lot up
in each of the two partial indexes. Rebuilding txn_lot locks writes to the table while it builds.
"""

from django.db import migrations, models

from ledger.sqlfiles import ApplyCurrentSQL, pinned_text, statements


class Migration(migrations.Migration):
    dependencies = [("ledger", "0029_channel_indexes_without_blank")]

    operations = [
        migrations.RemoveIndex(model_name="transaction", name="txn_lot"),
        migrations.AddIndex(
            model_name="transaction",
            index=models.Index(condition=models.Q(lot__isnull=False) & ~models.Q(kind="expiry"), fields=["lot"],
                               name="txn_lot"),
        ),
        ApplyCurrentSQL(
            {"functions/ledger_refuse_referenced_delete.sql": "70c4372b25db"},
            reverse_sql={"postgresql": statements(pinned_text("functions/ledger_refuse_referenced_delete.sql",
                                                              "95efea3be0e9"))},
        ),
    ]

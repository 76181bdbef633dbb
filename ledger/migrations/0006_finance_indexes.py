"""Indexes behind the finance pages' filters and reports (kind and channel, per account and per org).

The matching Meta.indexes entries on Transaction live in ledger/models.py.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0005_roles"),  # the brief said 0004; 0005_roles now exists (lead: fix the chain as needed)
    ]

    operations = [
        migrations.AddIndex(
            model_name="transaction",
            index=models.Index(fields=["account", "kind", "-created_at", "-id"], name="txn_account_kind_newest"),
        ),
        migrations.AddIndex(
            model_name="transaction",
            index=models.Index(fields=["account", "channel", "-created_at", "-id"], name="txn_account_channel_newest"),
        ),
        migrations.AddIndex(
            model_name="transaction",
            index=models.Index(fields=["organization", "kind", "-created_at", "-id"], name="txn_org_kind_newest"),
        ),
        migrations.AddIndex(
            model_name="transaction",
            index=models.Index(fields=["organization", "channel", "-created_at", "-id"], name="txn_org_channel_newest"),
        ),
    ]

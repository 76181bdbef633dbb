"""Ledger references checked once per INSERT statement, not per row by foreign keys (ledger/sql/0012_*.sql)."""

import django.db.models.deletion
from django.db import migrations, models

from ledger.sqlfiles import run_sql_file


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0011_charge_function'),
    ]

    operations = [
        migrations.AlterField(
            model_name='posting',
            name='account',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.account'),
        ),
        migrations.AlterField(
            model_name='posting',
            name='system_account',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.systemaccount'),
        ),
        migrations.AlterField(
            model_name='posting',
            name='transaction',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.transaction'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, help_text='The customer account whose funds moved (the funding account).', on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='ledger.account'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='lot',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text='The lot granted or expired by this transaction.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.creditlot'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='organization',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='ledger.organization'),
        ),
        run_sql_file("0012_ledger_references", restores=("0009_balanced_per_statement",)),
    ]

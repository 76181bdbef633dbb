"""Per-account daily totals kept by a trigger on the postings (issue 19): the table, the current file
ledger/sql/functions/ledger_day_totals.sql (pinned by hash), and the rows of the postings already there."""

from django.db import migrations, models

from ledger.sqlfiles import ApplyCurrentSQL, run_statements


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0021_spending_policy'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountDayTotal',
            fields=[
                ('pk', models.CompositePrimaryKey('account_id', 'day', 'kind', 'channel', 'country', 'category', blank=True, editable=False, primary_key=True, serialize=False)),
                ('organization_id', models.UUIDField()),
                ('account_id', models.UUIDField()),
                ('day', models.DateField(help_text="Local calendar day in the org's timezone when the postings were written.")),
                ('kind', models.CharField(max_length=12)),
                ('channel', models.CharField(max_length=16)),
                ('country', models.CharField(max_length=2)),
                ('category', models.CharField(max_length=32)),
                ('credit', models.DecimalField(decimal_places=6, help_text='Sum of the positive postings.', max_digits=26)),
                ('credit_count', models.BigIntegerField()),
                ('debit', models.DecimalField(decimal_places=6, help_text='Sum of the zero and negative postings.', max_digits=26)),
                ('debit_count', models.BigIntegerField()),
                ('quantity', models.BigIntegerField(help_text="Quantity of the postings' transactions.")),
                ('free_quantity', models.BigIntegerField(help_text='Quantity of those at a unit price of zero.')),
            ],
            options={
                'indexes': [models.Index(fields=['organization_id', 'day'], name='daytotal_org_day')],
            },
        ),
        ApplyCurrentSQL(
            {"functions/ledger_day_totals.sql": "c5913b4b88bb"},
            reverse_sql={"postgresql": [
                "DROP TRIGGER IF EXISTS ledger_posting_day_totals ON ledger_posting",
                "DROP FUNCTION IF EXISTS ledger_add_day_totals()",
                "DROP FUNCTION IF EXISTS ledger_day_totals_rebuild(uuid)",
            ], "sqlite": []},
        ),
        # The rows of the postings written before this migration (PostgreSQL; SQLite sums the postings).
        run_statements({"postgresql": ["SELECT ledger_day_totals_rebuild(NULL)"]}, {}),
    ]

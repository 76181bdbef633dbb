"""Per-account monthly totals rolled up from the daily totals (issue 19): the tables AccountMonthTotal and
RolledMonth, and the current file ledger/sql/functions/ledger_month_totals.sql (pinned by hash). The
months are filled by the nightly job (ledger.jobs.month_totals_roll), not here: until it runs, readers
sum the daily rows as before."""

from django.db import migrations, models

from ledger.sqlfiles import ApplyCurrentSQL


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0027_charge_batch_function'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountMonthTotal',
            fields=[
                ('pk', models.CompositePrimaryKey('account_id', 'month', 'kind', 'channel', 'country', 'category', blank=True, editable=False, primary_key=True, serialize=False)),
                ('organization_id', models.UUIDField()),
                ('account_id', models.UUIDField()),
                ('month', models.DateField(help_text="First day of the local calendar month in the org's timezone.")),
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
                'indexes': [models.Index(fields=['organization_id', 'month'], name='monthtotal_org_month')],
            },
        ),
        migrations.CreateModel(
            name='RolledMonth',
            fields=[
                ('pk', models.CompositePrimaryKey('organization_id', 'month', blank=True, editable=False, primary_key=True, serialize=False)),
                ('organization_id', models.UUIDField()),
                ('month', models.DateField(help_text="First day of the local calendar month in the org's timezone.")),
            ],
        ),
        ApplyCurrentSQL(
            {"functions/ledger_month_totals.sql": "120931605a4e"},
            reverse_sql={"postgresql": [
                "DROP TRIGGER IF EXISTS ledger_posting_month_totals ON ledger_posting",
                "DROP FUNCTION IF EXISTS ledger_month_totals_unroll()",
                "DROP FUNCTION IF EXISTS ledger_month_totals_rebuild(uuid, timestamptz)",
                "DROP FUNCTION IF EXISTS ledger_month_totals_roll(uuid, timestamptz)",
            ], "sqlite": []},
        ),
    ]

"""Tables of buying credits: top-ups, payments, provider events, limits, tax rules, invoice series, auto-recharge."""

import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
import simple_history.models
import uuid
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('ledger', '0016_organization_purchase_settings'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalAutoRecharge',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('enabled', models.BooleanField(default=True)),
                ('threshold', models.DecimalField(decimal_places=6, help_text='Recharge when available falls below this.', max_digits=20)),
                ('mode', models.CharField(choices=[('fixed_amount', 'Add a fixed amount'), ('top_up_to_target', 'Top up to a target')], default='fixed_amount', max_length=16)),
                ('amount', models.DecimalField(blank=True, decimal_places=6, help_text='Fixed mode: the net amount to buy.', max_digits=20, null=True)),
                ('target', models.DecimalField(blank=True, decimal_places=6, help_text='Target mode: buy what brings available up to this.', max_digits=20, null=True)),
                ('max_per_day', models.PositiveSmallIntegerField(default=1, help_text='At most this many recharges a day (UTC).')),
                ('provider', models.CharField(choices=[('sandbox', 'Sandbox (test payments)'), ('stripe', 'Stripe'), ('razorpay', 'Razorpay'), ('bank_transfer', 'Bank transfer / purchase order')], max_length=16)),
                ('customer_reference', models.CharField(blank=True, help_text='Stripe customer id or Razorpay customer id.', max_length=255)),
                ('payment_method', models.CharField(help_text='Saved Stripe payment method, Razorpay token or mandate id.', max_length=255)),
                ('billing', models.JSONField(default=dict, help_text='Billing details used for the invoices.')),
                ('disabled_reason', models.CharField(blank=True, max_length=255)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('account', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='ledger.account')),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical auto-recharge',
                'verbose_name_plural': 'historical auto-recharges',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalTaxRule',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('country', models.CharField(blank=True, help_text='ISO 3166-1 alpha-2; empty for any country.', max_length=2)),
                ('name', models.CharField(help_text='Printed on invoices, e.g. GST or VAT.', max_length=40)),
                ('rate', models.DecimalField(decimal_places=4, help_text='Percent, e.g. 18 for 18%.', max_digits=7)),
                ('split_within_state', models.BooleanField(default=False, help_text="India's GST: CGST + SGST within the seller's state, IGST otherwise.")),
                ('intra_state_names', models.CharField(blank=True, default='CGST,SGST', help_text="Names of the two halves within the seller's state.", max_length=80)),
                ('inter_state_name', models.CharField(blank=True, default='IGST', max_length=40)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical tax rule',
                'verbose_name_plural': 'historical tax rules',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalTopUpLimit',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('currency', models.CharField(db_index=True, max_length=3)),
                ('min_amount', models.DecimalField(decimal_places=6, help_text='Smallest net amount of one top-up.', max_digits=20)),
                ('max_amount', models.DecimalField(decimal_places=6, help_text='Largest net amount of one top-up.', max_digits=20)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical top-up limit',
                'verbose_name_plural': 'historical top-up limits',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='InvoiceSequence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seller_code', models.CharField(max_length=32)),
                ('financial_year', models.CharField(help_text='e.g. 2026-27 (April to March) or 2026.', max_length=9)),
                ('last_number', models.PositiveIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('seller_code', 'financial_year'), name='one_invoice_sequence_per_seller_year')],
            },
        ),
        migrations.CreateModel(
            name='TaxRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('country', models.CharField(blank=True, help_text='ISO 3166-1 alpha-2; empty for any country.', max_length=2)),
                ('name', models.CharField(help_text='Printed on invoices, e.g. GST or VAT.', max_length=40)),
                ('rate', models.DecimalField(decimal_places=4, help_text='Percent, e.g. 18 for 18%.', max_digits=7)),
                ('split_within_state', models.BooleanField(default=False, help_text="India's GST: CGST + SGST within the seller's state, IGST otherwise.")),
                ('intra_state_names', models.CharField(blank=True, default='CGST,SGST', help_text="Names of the two halves within the seller's state.", max_length=80)),
                ('inter_state_name', models.CharField(blank=True, default='IGST', max_length=40)),
            ],
            options={
                'ordering': ['currency', 'country'],
                'constraints': [models.UniqueConstraint(fields=('currency', 'country'), name='one_tax_rule_per_currency_country'), models.CheckConstraint(condition=models.Q(('rate__gte', 0), ('rate__lt', 100)), name='tax_rule_rate_valid')],
            },
        ),
        migrations.CreateModel(
            name='TopUp',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('amount', models.DecimalField(decimal_places=6, help_text='Net amount: the credits granted.', max_digits=20)),
                ('tax', models.DecimalField(decimal_places=6, default=Decimal('0'), max_digits=20)),
                ('total', models.DecimalField(decimal_places=6, help_text='What the buyer pays: amount + tax.', max_digits=20)),
                ('currency', models.CharField(max_length=3)),
                ('tax_lines', models.JSONField(blank=True, default=list, help_text='[{"name", "rate" (percent), "amount"}]')),
                ('billing_name', models.CharField(max_length=200)),
                ('billing_address', models.TextField()),
                ('billing_country', models.CharField(max_length=2)),
                ('billing_state', models.CharField(blank=True, help_text='ISO 3166-2 subdivision (India).', max_length=3)),
                ('billing_tax_id', models.CharField(blank=True, max_length=20, verbose_name='GSTIN / tax ID')),
                ('billing_email', models.EmailField(blank=True, max_length=254)),
                ('provider', models.CharField(choices=[('sandbox', 'Sandbox (test payments)'), ('stripe', 'Stripe'), ('razorpay', 'Razorpay'), ('bank_transfer', 'Bank transfer / purchase order')], max_length=16)),
                ('provider_reference', models.CharField(blank=True, help_text="The provider's checkout session or order id.", max_length=255)),
                ('provider_payment_id', models.CharField(blank=True, max_length=255)),
                ('checkout_url', models.URLField(blank=True, max_length=1000)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('paid', 'Paid'), ('failed', 'Failed'), ('cancelled', 'Cancelled'), ('expired', 'Expired')], default='pending', max_length=10)),
                ('origin', models.CharField(choices=[('checkout', 'Checkout'), ('auto_recharge', 'Auto-recharge')], default='checkout', max_length=16)),
                ('auto_recharge_trigger', models.CharField(blank=True, help_text='account:crossing of the auto-recharge that made it.', max_length=64, null=True, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField()),
                ('paid_at', models.DateTimeField(blank=True, null=True)),
                ('closed_at', models.DateTimeField(blank=True, help_text='When it failed, was cancelled or expired.', null=True)),
                ('failure_reason', models.CharField(blank=True, max_length=255)),
                ('seller_code', models.CharField(blank=True, max_length=32)),
                ('invoice_number', models.CharField(blank=True, max_length=40, null=True)),
                ('invoice_date', models.DateField(blank=True, null=True)),
                ('seller', models.JSONField(blank=True, default=dict, help_text="The seller's details as invoiced.")),
                ('created_by_service', models.CharField(blank=True, max_length=100)),
                ('account', models.ForeignKey(help_text='The account the credits go to.', on_delete=django.db.models.deletion.PROTECT, related_name='top_ups', to='ledger.account')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='top_ups', to='ledger.organization')),
                ('transaction', models.OneToOneField(blank=True, help_text='The purchase booked in the ledger.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='top_up', to='ledger.transaction')),
            ],
            options={
                'verbose_name': 'top-up',
                'ordering': ['-created_at', '-id'],
                'permissions': [('record_payment', 'Can record bank transfers and refunds of payments')],
            },
        ),
        migrations.CreateModel(
            name='ProviderEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider', models.CharField(choices=[('sandbox', 'Sandbox (test payments)'), ('stripe', 'Stripe'), ('razorpay', 'Razorpay'), ('bank_transfer', 'Bank transfer / purchase order')], max_length=16)),
                ('event_id', models.CharField(max_length=255)),
                ('type', models.CharField(max_length=64)),
                ('payload', models.JSONField()),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('outcome', models.CharField(blank=True, max_length=255)),
                ('top_up', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='payments.topup')),
            ],
            options={
                'ordering': ['-received_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Payment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider', models.CharField(choices=[('sandbox', 'Sandbox (test payments)'), ('stripe', 'Stripe'), ('razorpay', 'Razorpay'), ('bank_transfer', 'Bank transfer / purchase order')], max_length=16)),
                ('provider_payment_id', models.CharField(max_length=255)),
                ('amount', models.DecimalField(decimal_places=6, max_digits=20)),
                ('currency', models.CharField(max_length=3)),
                ('status', models.CharField(choices=[('applied', 'Applied (credits granted)'), ('refund_due', 'Refund due'), ('refunded', 'Refunded')], max_length=10)),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('note', models.CharField(blank=True, max_length=255)),
                ('refunded_at', models.DateTimeField(blank=True, null=True)),
                ('invoice', models.ForeignKey(blank=True, help_text='The postpaid invoice this payment clears.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.transaction')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='ledger.organization')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('transaction', models.OneToOneField(blank=True, help_text='The ledger entry of an invoice payment.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.transaction')),
                ('top_up', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='payments.topup')),
            ],
            options={
                'ordering': ['-received_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='TopUpLimit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3, unique=True)),
                ('min_amount', models.DecimalField(decimal_places=6, help_text='Smallest net amount of one top-up.', max_digits=20)),
                ('max_amount', models.DecimalField(decimal_places=6, help_text='Largest net amount of one top-up.', max_digits=20)),
            ],
            options={
                'verbose_name': 'top-up limit',
                'ordering': ['currency'],
                'constraints': [models.CheckConstraint(condition=models.Q(('min_amount__gt', 0), ('max_amount__gte', models.F('min_amount'))), name='top_up_limit_range_valid')],
            },
        ),
        migrations.CreateModel(
            name='AutoRecharge',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('enabled', models.BooleanField(default=True)),
                ('threshold', models.DecimalField(decimal_places=6, help_text='Recharge when available falls below this.', max_digits=20)),
                ('mode', models.CharField(choices=[('fixed_amount', 'Add a fixed amount'), ('top_up_to_target', 'Top up to a target')], default='fixed_amount', max_length=16)),
                ('amount', models.DecimalField(blank=True, decimal_places=6, help_text='Fixed mode: the net amount to buy.', max_digits=20, null=True)),
                ('target', models.DecimalField(blank=True, decimal_places=6, help_text='Target mode: buy what brings available up to this.', max_digits=20, null=True)),
                ('max_per_day', models.PositiveSmallIntegerField(default=1, help_text='At most this many recharges a day (UTC).')),
                ('provider', models.CharField(choices=[('sandbox', 'Sandbox (test payments)'), ('stripe', 'Stripe'), ('razorpay', 'Razorpay'), ('bank_transfer', 'Bank transfer / purchase order')], max_length=16)),
                ('customer_reference', models.CharField(blank=True, help_text='Stripe customer id or Razorpay customer id.', max_length=255)),
                ('payment_method', models.CharField(help_text='Saved Stripe payment method, Razorpay token or mandate id.', max_length=255)),
                ('billing', models.JSONField(default=dict, help_text='Billing details used for the invoices.')),
                ('armed', models.BooleanField(default=True, help_text='Fires at the next crossing below the threshold.')),
                ('crossings', models.PositiveIntegerField(default=0, help_text='How many times it fired (its trigger counter).')),
                ('disabled_reason', models.CharField(blank=True, max_length=255)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('account', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='auto_recharge', to='ledger.account')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'auto-recharge',
                'constraints': [models.CheckConstraint(condition=models.Q(('threshold__gte', 0)), name='auto_recharge_threshold_not_negative'), models.CheckConstraint(condition=models.Q(('max_per_day__gte', 1)), name='auto_recharge_max_per_day_positive'), models.CheckConstraint(condition=models.Q(models.Q(('amount__gt', 0), ('mode', 'fixed_amount')), models.Q(('mode', 'top_up_to_target'), ('target__gt', models.F('threshold'))), _connector='OR'), name='auto_recharge_mode_has_amount')],
            },
        ),
        migrations.AddIndex(
            model_name='topup',
            index=models.Index(fields=['account', '-created_at'], name='top_up_account_newest'),
        ),
        migrations.AddIndex(
            model_name='topup',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['expires_at'], name='top_up_pending_expiry'),
        ),
        migrations.AddIndex(
            model_name='topup',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['organization'], name='top_up_org_pending'),
        ),
        migrations.AddConstraint(
            model_name='topup',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'paid', 'failed', 'cancelled', 'expired'])), name='top_up_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='topup',
            constraint=models.CheckConstraint(condition=models.Q(('provider__in', ['sandbox', 'stripe', 'razorpay', 'bank_transfer'])), name='top_up_provider_valid'),
        ),
        migrations.AddConstraint(
            model_name='topup',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0), ('tax__gte', 0), ('total', django.db.models.expressions.CombinedExpression(models.F('amount'), '+', models.F('tax')))), name='top_up_total_is_amount_plus_tax'),
        ),
        migrations.AddConstraint(
            model_name='topup',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('invoice_number__isnull', False), ('paid_at__isnull', False), ('status', 'paid'), ('transaction__isnull', False)), models.Q(models.Q(('status', 'paid'), _negated=True), ('invoice_number__isnull', True), ('transaction__isnull', True)), _connector='OR'), name='top_up_paid_iff_booked_and_invoiced'),
        ),
        migrations.AddConstraint(
            model_name='topup',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['cancelled', 'expired']), _negated=True), ('closed_at__isnull', False), _connector='OR'), name='top_up_closed_has_time'),
        ),
        migrations.AddConstraint(
            model_name='topup',
            constraint=models.UniqueConstraint(fields=('seller_code', 'invoice_number'), name='one_invoice_number_per_seller'),
        ),
        migrations.AddConstraint(
            model_name='topup',
            constraint=models.UniqueConstraint(condition=models.Q(('provider_reference', ''), _negated=True), fields=('provider', 'provider_reference'), name='one_top_up_per_provider_reference'),
        ),
        migrations.AddConstraint(
            model_name='providerevent',
            constraint=models.UniqueConstraint(fields=('provider', 'event_id'), name='one_event_per_provider_id'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.UniqueConstraint(fields=('provider', 'provider_payment_id'), name='one_payment_per_provider_id'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['applied', 'refund_due', 'refunded'])), name='payment_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='payment_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(('top_up__isnull', False), ('invoice__isnull', False), _connector='OR'), name='payment_for_top_up_or_invoice'),
        ),
    ]

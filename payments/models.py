"""Buying credits: top-ups and their state machine, payments received, provider events, per-currency
limits and tax rules, invoice number series and auto-recharge settings.

Rows here change only through `payments.services`; the money of a settled top-up moves through
`ledger.services.purchases`. CHECK and unique constraints back the state machine: a paid top-up has exactly
one purchase transaction and one invoice number, unique per seller.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from ledger.models import Account, MoneyField, Organization, Transaction
from ledger.money import money


class Provider(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (test payments)"
    STRIPE = "stripe", "Stripe"
    RAZORPAY = "razorpay", "Razorpay"
    BANK_TRANSFER = "bank_transfer", "Bank transfer / purchase order"


class TopUpStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class TopUpOrigin(models.TextChoices):
    CHECKOUT = "checkout", "Checkout"
    AUTO_RECHARGE = "auto_recharge", "Auto-recharge"


class TopUpLimit(models.Model):
    """How much one top-up may buy in a currency (net amount): a currency without a row cannot be bought."""

    currency = models.CharField(max_length=3, unique=True)
    min_amount = MoneyField(help_text="Smallest net amount of one top-up.")
    max_amount = MoneyField(help_text="Largest net amount of one top-up.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["currency"]
        verbose_name = "top-up limit"
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0) & Q(max_amount__gte=F("min_amount")),
                                   name="top_up_limit_range_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.min_amount.normalize():f} to {self.max_amount.normalize():f}"


class TaxRule(models.Model):
    """The tax on top-ups in a currency, for buyers in one country or (country empty) anywhere.

    The most specific rule applies (country before any); no rule, no tax. With `split_within_state`
    (India's GST), a buyer in the seller's state pays two halves named by `intra_state_names`
    (CGST + SGST), others one line named `inter_state_name` (IGST).
    """

    currency = models.CharField(max_length=3)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2; empty for any country.")
    name = models.CharField(max_length=40, help_text="Printed on invoices, e.g. GST or VAT.")
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent, e.g. 18 for 18%.")
    split_within_state = models.BooleanField(
        default=False, help_text="India's GST: CGST + SGST within the seller's state, IGST otherwise.")
    intra_state_names = models.CharField(max_length=80, blank=True, default="CGST,SGST",
                                         help_text="Names of the two halves within the seller's state.")
    inter_state_name = models.CharField(max_length=40, blank=True, default="IGST")
    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", "country"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "country"], name="one_tax_rule_per_currency_country"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="tax_rule_rate_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.rate.normalize():f}% on {self.currency} ({self.country or 'any country'})"


class TopUp(models.Model):
    """A purchase of credits: pending until the provider's event settles it exactly once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="top_ups")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="top_ups",
                                help_text="The account the credits go to.")
    amount = MoneyField(help_text="Net amount: the credits granted.")
    tax = MoneyField(default=Decimal(0))
    total = MoneyField(help_text="What the buyer pays: amount + tax.")
    currency = models.CharField(max_length=3)
    tax_lines = models.JSONField(default=list, blank=True, help_text='[{"name", "rate" (percent), "amount"}]')
    billing_name = models.CharField(max_length=200)
    billing_address = models.TextField()
    billing_country = models.CharField(max_length=2)
    billing_state = models.CharField(max_length=3, blank=True, help_text="ISO 3166-2 subdivision (India).")
    billing_tax_id = models.CharField("GSTIN / tax ID", max_length=20, blank=True)
    billing_email = models.EmailField(blank=True)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_reference = models.CharField(max_length=255, blank=True,
                                          help_text="The provider's checkout session or order id.")
    provider_payment_id = models.CharField(max_length=255, blank=True)
    checkout_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=TopUpStatus.choices, default=TopUpStatus.PENDING)
    origin = models.CharField(max_length=16, choices=TopUpOrigin.choices, default=TopUpOrigin.CHECKOUT)
    auto_recharge_trigger = models.CharField(max_length=64, null=True, blank=True, unique=True,  # noqa: DJ001
                                             help_text="account:crossing of the auto-recharge that made it.")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it failed, was cancelled or expired.")
    failure_reason = models.CharField(max_length=255, blank=True)
    transaction = models.OneToOneField(Transaction, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="top_up", help_text="The purchase booked in the ledger.")
    seller_code = models.CharField(max_length=32, blank=True)
    invoice_number = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001 - NULL until paid (unique)
    invoice_date = models.DateField(null=True, blank=True)
    seller = models.JSONField(default=dict, blank=True, help_text="The seller's details as invoiced.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_by_service = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "top-up"
        permissions = [("record_payment", "Can record bank transfers and refunds of payments")]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="top_up_account_newest"),
            models.Index(fields=["expires_at"], condition=Q(status="pending"), name="top_up_pending_expiry"),
            models.Index(fields=["organization"], condition=Q(status="pending"), name="top_up_org_pending"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TopUpStatus.values), name="top_up_status_valid"),
            models.CheckConstraint(condition=Q(provider__in=Provider.values), name="top_up_provider_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(tax__gte=0) & Q(total=F("amount") + F("tax")),
                                   name="top_up_total_is_amount_plus_tax"),
            models.CheckConstraint(
                condition=(Q(status="paid", transaction__isnull=False, invoice_number__isnull=False,
                             paid_at__isnull=False)
                           | (~Q(status="paid") & Q(transaction__isnull=True, invoice_number__isnull=True))),
                name="top_up_paid_iff_booked_and_invoiced"),
            models.CheckConstraint(condition=~Q(status__in=["cancelled", "expired"]) | Q(closed_at__isnull=False),
                                   name="top_up_closed_has_time"),
            # what the state machine implies (services.py): a pending top-up is not closed, a failed one
            # has its time, only a paid one has paid_at and an invoice date
            models.CheckConstraint(condition=~Q(status="pending") | Q(closed_at__isnull=True, paid_at__isnull=True),
                                   name="top_up_pending_is_open"),
            models.CheckConstraint(condition=~Q(status="failed") | Q(closed_at__isnull=False),
                                   name="top_up_failed_has_time"),
            models.CheckConstraint(condition=Q(status="paid") | Q(paid_at__isnull=True, invoice_date__isnull=True),
                                   name="top_up_paid_at_only_when_paid"),
            models.CheckConstraint(condition=~Q(status="paid") | Q(invoice_date__isnull=False),
                                   name="top_up_paid_has_invoice_date"),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="top_up_expires_after_start"),
            models.CheckConstraint(condition=Q(origin__in=TopUpOrigin.values), name="top_up_origin_valid"),
            models.CheckConstraint(
                condition=(Q(origin="auto_recharge", auto_recharge_trigger__isnull=False)
                           | (~Q(origin="auto_recharge") & Q(auto_recharge_trigger__isnull=True))),
                name="top_up_auto_recharge_has_trigger"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="top_up_currency_code"),
            models.UniqueConstraint(fields=["seller_code", "invoice_number"], name="one_invoice_number_per_seller"),
            models.UniqueConstraint(fields=["provider", "provider_reference"], condition=~Q(provider_reference=""),
                                    name="one_top_up_per_provider_reference"),
        ]

    def __str__(self) -> str:
        return f"Top-up of {self.total.normalize():f} {self.currency} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == TopUpStatus.PENDING

    def tax_rows(self) -> list[tuple[str, str, str]]:
        """The tax lines as shown to people: (name, "9%", amount through the one money formatter)."""
        return [(line["name"], f"{line['rate']}%", money(line["amount"], self.currency)) for line in self.tax_lines]


class PaymentStatus(models.TextChoices):
    APPLIED = "applied", "Applied (credits granted)"
    REFUND_DUE = "refund_due", "Refund due"
    REFUNDED = "refunded", "Refunded"


class Payment(models.Model):
    """Money a provider (or the bank) reported as received: applied to a top-up or an invoice, or to refund.

    A success event for a top-up that is already paid with another payment, or was cancelled or
    expired, is recorded here as `refund_due`: no credits are granted twice.
    """

    top_up = models.ForeignKey(TopUp, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="The postpaid invoice this payment clears.")
    transaction = models.OneToOneField(Transaction, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", help_text="The ledger entry of an invoice payment.")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_payment_id = models.CharField(max_length=255)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices)
    received_at = models.DateTimeField(default=now)
    note = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_payment_id"], name="one_payment_per_provider_id"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(top_up__isnull=False) | Q(invoice__isnull=False),
                                   name="payment_for_top_up_or_invoice"),
            models.CheckConstraint(condition=Q(top_up__isnull=True) | Q(invoice__isnull=True),
                                   name="payment_for_one_thing"),
            models.CheckConstraint(
                condition=(Q(status="refunded", refunded_at__isnull=False)
                           | (~Q(status="refunded") & Q(refunded_at__isnull=True))),
                name="payment_refunded_iff_refunded_at"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payment_currency_code"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} payment {self.provider_payment_id} ({self.status})"


class ProviderEvent(models.Model):
    """One webhook event a provider delivered (verified): a repeat of the same event id changes nothing."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=64)
    top_up = models.ForeignKey(TopUp, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    payload = models.JSONField()
    received_at = models.DateTimeField(default=now)
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="one_event_per_provider_id")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


class InvoiceSequence(models.Model):
    """The next invoice number of a seller in a financial year; its row lock makes the series gap-free."""

    seller_code = models.CharField(max_length=32)
    financial_year = models.CharField(max_length=9, help_text="e.g. 2026-27 (April to March) or 2026.")
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["seller_code", "financial_year"],
                                               name="one_invoice_sequence_per_seller_year")]

    def __str__(self) -> str:
        return f"{self.seller_code} {self.financial_year}: {self.last_number}"


class RechargeMode(models.TextChoices):
    FIXED_AMOUNT = "fixed_amount", "Add a fixed amount"
    TOP_UP_TO_TARGET = "top_up_to_target", "Top up to a target"


class AutoRecharge(models.Model):
    """Buy credits automatically when an account's available falls below a threshold, with a saved method."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="auto_recharge")
    enabled = models.BooleanField(default=True)
    threshold = MoneyField(help_text="Recharge when available falls below this.")
    mode = models.CharField(max_length=16, choices=RechargeMode.choices, default=RechargeMode.FIXED_AMOUNT)
    amount = MoneyField(null=True, blank=True, help_text="Fixed mode: the net amount to buy.")
    target = MoneyField(null=True, blank=True, help_text="Target mode: buy what brings available up to this.")
    max_per_day = models.PositiveSmallIntegerField(default=1, help_text="At most this many recharges a day (UTC).")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    customer_reference = models.CharField(max_length=255, blank=True,
                                          help_text="Stripe customer id or Razorpay customer id.")
    payment_method = models.CharField(max_length=255,
                                      help_text="Saved Stripe payment method, Razorpay token or mandate id.")
    billing = models.JSONField(default=dict, help_text="Billing details used for the invoices.")
    armed = models.BooleanField(default=True, help_text="Fires at the next crossing below the threshold.")
    crossings = models.PositiveIntegerField(default=0, help_text="How many times it fired (its trigger counter).")
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "armed", "crossings"])

    class Meta:
        verbose_name = "auto-recharge"
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="auto_recharge_threshold_not_negative"),
            models.CheckConstraint(condition=Q(max_per_day__gte=1), name="auto_recharge_max_per_day_positive"),
            models.CheckConstraint(condition=Q(mode__in=RechargeMode.values), name="auto_recharge_mode_valid"),
            models.CheckConstraint(condition=Q(provider__in=Provider.values), name="auto_recharge_provider_valid"),
            models.CheckConstraint(
                condition=(Q(mode="fixed_amount", amount__gt=0)
                           | Q(mode="top_up_to_target", target__gt=F("threshold"))),
                name="auto_recharge_mode_has_amount"),
        ]

    def __str__(self) -> str:
        return f"Auto-recharge of {self.account}"

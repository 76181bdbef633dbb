"""Ledger models: organizations, accounts, credit lots, transactions, postings, holds, limits.

Rows here are written only by `ledger.services`; the database backs every invariant with CHECK
and unique constraints and, on PostgreSQL, triggers that make transactions and postings
append-only and refuse an unbalanced transaction (see migrations and `ledger/sql/`).
"""

import functools
import secrets
import uuid
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, ExpressionWrapper, F, Q, When
from django.db.models.functions import Now
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from .currencies import CURRENCIES
from .history import ActorHistory, history_user
from .money import QUANTUM, ZERO  # noqa: F401 - the models' amounts; re-exported for their readers


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802 - a field factory reads like a field class
    """The one decimal field for amounts: 20 digits, 6 decimal places."""
    kwargs.setdefault("max_digits", 20)
    kwargs.setdefault("decimal_places", 6)
    return models.DecimalField(**kwargs)


WALLET_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone


def generate_wallet_id() -> str:
    """A short, human-friendly wallet ID such as W-7K3M9QXA."""
    return "W-" + "".join(secrets.choice(WALLET_ALPHABET) for _ in range(8))


@functools.cache
def iana_timezones() -> frozenset[str]:
    """The IANA timezone names, read once per process (zoneinfo walks the tz database's files on every call:
    10-40 ms, which every org validation paid)."""
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in iana_timezones():
        raise ValidationError(f"{value!r} is not an IANA timezone.")


def validate_currency(value: str) -> None:
    if value not in CURRENCIES:
        raise ValidationError(f"{value!r} is not a supported ISO 4217 currency code.")


class ExpiresIn(models.TextChoices):
    ONE_MONTH = "1M", "1 month"
    TWO_MONTHS = "2M", "2 months"
    THREE_MONTHS = "3M", "3 months"
    SIX_MONTHS = "6M", "6 months"
    ONE_YEAR = "1Y", "1 year"
    NEVER = "never", "Never"


class PaymentScheme(models.TextChoices):
    PREPAID = "prepaid", "Prepaid"
    POSTPAID = "postpaid", "Postpaid"


class SpendingPolicy(models.TextChoices):
    """What an org may spend when credits run short (docs/policies.md; enforced by ledger.services.rules)."""

    PROMOTIONAL_MUST_FIT = "promotional_must_fit", "Promotional must fit (transactional never refused)"
    ALL_MUST_FIT = "all_must_fit", "Every charge and hold must fit available"
    STOP_WHEN_DEPLETED = "stop_when_depleted", "Stop when depleted (blocked at or below the floor)"


class Organization(models.Model):
    """A customer org (a brand). 1 credit = 1 unit of its currency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, db_index=True)
    wallet_id = models.CharField("wallet ID", max_length=16, unique=True, default=generate_wallet_id, editable=False)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    payment_scheme = models.CharField(max_length=8, choices=PaymentScheme.choices, default=PaymentScheme.PREPAID)
    credit_management_enabled = models.BooleanField(default=True)
    purchase_expires_in = models.CharField(
        max_length=5, choices=ExpiresIn.choices, default=ExpiresIn.NEVER,
        help_text="Expiry of credits bought through top-ups, counted from the payment in the org's timezone.")
    individual_user_credits = models.BooleanField(
        default=False, help_text="Subaccount users buy and manage the credits of their own subaccounts.")
    user_to_user_transfers = models.BooleanField(
        default=False, db_default=False,
        help_text="With individual user credits: subaccount users may also transfer to other users' subaccounts.")
    transfer_conditions = models.TextField(
        blank=True, default="", db_default="", max_length=2000,
        help_text="The conditions a subaccount user agrees to (a tick box) before each transfer of their credits.")
    spending_policy = models.CharField(max_length=20, choices=SpendingPolicy.choices,
                                       default=SpendingPolicy.PROMOTIONAL_MUST_FIT,
                                       db_default=SpendingPolicy.PROMOTIONAL_MUST_FIT,
                                       help_text="What may be spent when credits run short (changed by platform staff).")
    spending_floor = MoneyField(default=ZERO, db_default=ZERO, help_text="Stop when depleted: charges and holds are refused while "
                                                        "available is at or below this (0 by default).")
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="administered_organizations",
        help_text="Org admins (master users): they see and steer this org only.",
    )
    created_at = models.DateTimeField(default=now, editable=False)
    history = HistoricalRecords(excluded_fields=["created_at"], bases=[ActorHistory], get_user=history_user)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("add_credits", "Can add credits"),
            ("remove_credits", "Can remove credits (and charge or hold with a staff session)"),
            ("set_credit_limit", "Can set credit limits"),
            ("transfer_credits", "Can transfer credits between accounts"),
            ("toggle_credit_management", "Can switch credit management on or off"),
            ("view_ledger", "Can view ledger pages and reports"),
            ("export_ledger", "Can export ledgers as CSV"),
            ("buy_credits", "Can buy credits (top-ups)"),
            ("set_spending_policy", "Can change the spending policy"),
            ("change_individual_credits", "Can change the individual user credit settings"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(payment_scheme__in=PaymentScheme.values), name="organization_payment_scheme_valid"
            ),
            models.CheckConstraint(condition=Q(purchase_expires_in__in=ExpiresIn.values),
                                   name="organization_purchase_expires_in_valid"),
            models.CheckConstraint(condition=Q(spending_policy__in=SpendingPolicy.values),
                                   name="organization_spending_policy_valid"),
            models.CheckConstraint(condition=Q(spending_floor__gte=0), name="organization_spending_floor_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.wallet_id})"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def master_account(self) -> "Account":
        return self.accounts.get(is_master=True)


class BalanceMode(models.TextChoices):
    OWN = "own", "Own balance"
    SHARED = "shared", "Shared with master"


class Account(models.Model):
    """A master account or a subaccount of an org.

    `balance` and `held` are caches kept by the services on the locked row: balance is the
    sum of the account's postings, held the sum of its active holds' remaining amounts.
    A `shared` subaccount holds no funds: its money fields stay zero and its charges debit
    the master account.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="accounts")
    name = models.CharField(max_length=200)
    is_master = models.BooleanField(default=False, editable=False)
    balance_mode = models.CharField(max_length=6, choices=BalanceMode.choices, default=BalanceMode.OWN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_accounts",
        help_text="The individual user this subaccount belongs to, if any.",
    )
    balance = MoneyField(default=ZERO, editable=False)
    held = MoneyField(default=ZERO, editable=False)
    credit_limit = MoneyField(default=ZERO, editable=False, help_text="Permanent credit limit.")
    temporary_credit_limit = MoneyField(null=True, blank=True, editable=False)
    temporary_credit_limit_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["organization__name", "-is_master", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], condition=Q(is_master=True), name="one_master_per_org"),
            models.CheckConstraint(condition=Q(balance_mode__in=BalanceMode.values), name="account_balance_mode_valid"),
            models.CheckConstraint(
                condition=Q(is_master=False) | Q(balance_mode=BalanceMode.OWN), name="master_account_holds_own_funds"
            ),
            models.CheckConstraint(condition=Q(held__gte=0), name="account_held_not_negative"),
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="account_credit_limit_not_negative"),
            models.CheckConstraint(
                condition=Q(temporary_credit_limit__isnull=True) | Q(temporary_credit_limit__gte=0),
                name="account_temporary_limit_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(temporary_credit_limit__isnull=True, temporary_credit_limit_expires_at__isnull=True)
                | Q(temporary_credit_limit__isnull=False, temporary_credit_limit_expires_at__isnull=False),
                name="account_temporary_limit_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(balance_mode=BalanceMode.OWN)
                | Q(balance=0, held=0, credit_limit=0, temporary_credit_limit__isnull=True),
                name="shared_account_holds_no_funds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization.name} / {self.name}"

    @property
    def holds_funds(self) -> bool:
        return self.balance_mode == BalanceMode.OWN

    @property
    def currency(self) -> str:
        return self.organization.currency

    def effective_credit_limit(self, at=None) -> Decimal:
        """The temporary limit while it lasts, else the permanent one."""
        at = at or now()
        if self.temporary_credit_limit is not None and self.temporary_credit_limit_expires_at > at:
            return self.temporary_credit_limit
        return self.credit_limit

    def credit_limit_expires_at(self, at=None):
        at = at or now()
        if self.temporary_credit_limit is not None and self.temporary_credit_limit_expires_at > at:
            return self.temporary_credit_limit_expires_at
        return None

    def available(self, at=None) -> Decimal:
        """available = balance + effective credit limit - held (CEQUENS' definition; `available_expression` in SQL)."""
        return self.balance + self.effective_credit_limit(at) - self.held

    def funding_account(self) -> "Account":
        """The account whose funds this one uses: itself, or the master for a shared subaccount (cached)."""
        if self.balance_mode != BalanceMode.SHARED:
            return self
        if getattr(self, "_funding", None) is None:
            self._funding = Account.objects.select_related("organization").get(
                organization_id=self.organization_id, is_master=True)
        return self._funding


def effective_limit_expression(prefix: str = "", at=None):
    """`Account.effective_credit_limit(at)` as an expression over the account fields under `prefix`."""
    return Case(When(**{f"{prefix}temporary_credit_limit_expires_at__gt": at if at is not None else Now()},
                     then=F(f"{prefix}temporary_credit_limit")),
                default=F(f"{prefix}credit_limit"), output_field=MoneyField())


def available_expression(prefix: str = "", at=None):
    """`Account.available(at)` as an expression: balance + effective credit limit - held."""
    return ExpressionWrapper(F(f"{prefix}balance") + effective_limit_expression(prefix, at) - F(f"{prefix}held"),
                             output_field=MoneyField())


class SystemAccount(models.Model):
    """The other side of customer postings, one per purpose and currency."""

    class Code(models.TextChoices):
        ISSUED = "issued", "Issued credits"
        PURCHASES = "purchases", "Purchases"
        USAGE = "usage", "Usage"
        EXPIRED = "expired", "Expired credits"
        REMOVALS = "removals", "Removals"
        RECEIVABLES = "receivables", "Receivables"
        PAYMENTS_CLEARING = "payments_clearing", "Payments clearing"
        TAX_PAYABLE = "tax_payable", "Tax payable"

    code = models.CharField(max_length=20, choices=Code.choices)
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "currency"], name="one_system_account_per_code_currency"),
            models.CheckConstraint(condition=Q(code__in=["issued", "purchases", "usage", "expired", "removals",
                                                         "receivables", "payments_clearing", "tax_payable"]),
                                   name="system_account_code_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} ({self.currency})"


class LotSource(models.TextChoices):
    GRANT = "grant", "Grant"
    PURCHASE = "purchase", "Purchase"
    TRANSFER = "transfer", "Transfer"
    REFUND = "refund", "Refund"


class CreditLot(models.Model):
    """One grant of credits to an account, drawn soonest-expiring first."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    amount = MoneyField()
    remaining = MoneyField()
    granted_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    source = models.CharField(max_length=8, choices=LotSource.choices)
    purchase_order = models.CharField(max_length=100, blank=True)
    comment = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    created_by_service = models.CharField(max_length=100, blank=True)
    transferred_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                         db_index=False)

    class Meta:
        ordering = ["account", "expires_at", "granted_at", "id"]
        indexes = [
            models.Index(fields=["account", "expires_at", "granted_at"], condition=Q(remaining__gt=0),
                         name="lot_active_draw_order"),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="lot_due_for_expiry"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="lot_amount_positive"),
            models.CheckConstraint(condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("amount")),
                                   name="lot_remaining_within_amount"),
            models.CheckConstraint(condition=Q(source__in=LotSource.values), name="lot_source_valid"),
        ]

    def __str__(self) -> str:
        return f"Lot {self.pk} ({self.get_source_display().lower()}{', PO ' + self.purchase_order if self.purchase_order else ''})"

    @property
    def is_active(self) -> bool:
        return self.remaining > 0 and (self.expires_at is None or self.expires_at > now())


class TransactionKind(models.TextChoices):
    GRANT = "grant", "Grant"
    PURCHASE = "purchase", "Purchase"
    REMOVAL = "removal", "Removal"
    CHARGE = "charge", "Charge"
    EXPIRY = "expiry", "Expiry"
    TRANSFER = "transfer", "Transfer"
    HOLD_CAPTURE = "hold_capture", "Hold capture"
    REFUND = "refund", "Refund"
    INVOICE = "invoice", "Invoice"
    PAYMENT = "payment", "Payment"
    REVERSAL = "reversal", "Reversal"


class Traffic(models.TextChoices):
    PROMOTIONAL = "promotional", "Promotional"
    TRANSACTIONAL = "transactional", "Transactional"


class Transaction(models.Model):
    """One business event with its balanced postings. Never updated or deleted."""

    # Foreign keys below are indexed by the composite and partial indexes in Meta, not one index each:
    # every index is paid on each insert of the hot path (charges, expiry).
    # organization, account and lot (and the posting columns below) are checked by the database once per
    # INSERT statement, not by a per-row foreign key (ledger/sql/0012_ledger_references.*.sql).
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="transactions",
                                     db_index=False, db_constraint=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transactions", db_index=False,
                                db_constraint=False,
                                help_text="The customer account whose funds moved (the funding account).")
    subaccount = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False, help_text="The shared-mode subaccount this entry is attributed to.")
    kind = models.CharField(max_length=12, choices=TransactionKind.choices)
    currency = models.CharField(max_length=3)
    amount = MoneyField(help_text="The amount of the business event: positive, or zero for free usage.")
    created_at = models.DateTimeField(default=now)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    actor_service = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    memo = models.TextField(blank=True)
    channel = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    category = models.CharField(max_length=32, blank=True)
    traffic = models.CharField(max_length=16, blank=True)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_price = MoneyField(null=True, blank=True)
    rate_card_version = models.ForeignKey("ratecards.RateCardVersion", null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+", db_index=False)
    lot = models.ForeignKey(CreditLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                            db_index=False, db_constraint=False, help_text="The lot granted or expired by this transaction.")
    hold = models.ForeignKey("Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions",
                             db_index=False)
    period = models.CharField(max_length=7, blank=True, help_text="Billing month (YYYY-MM) of an invoice.")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="txn_account_newest"),
            models.Index(fields=["organization", "-created_at", "-id"], name="txn_org_newest"),
            models.Index(fields=["subaccount", "-created_at", "-id"], condition=Q(subaccount__isnull=False),
                         name="txn_subaccount_newest"),
            models.Index(fields=["hold"], condition=Q(hold__isnull=False), name="txn_hold"),
            # Expiry entries are indexed by lot in one_expiry_per_lot (below): not twice.
            models.Index(fields=["lot"], condition=Q(lot__isnull=False) & ~Q(kind="expiry"), name="txn_lot"),
            models.Index(fields=["account", "kind", "-created_at", "-id"], name="txn_account_kind_newest"),
            # The channel filters look for a channel (usage), never for ''; entries without one (grants, expiry,
            # transfers...) stay out of these two indexes: an expiry run writes two index entries fewer per lot.
            models.Index(fields=["account", "channel", "-created_at", "-id"], condition=~Q(channel=""),
                         name="txn_account_channel_newest"),
            models.Index(fields=["organization", "kind", "-created_at", "-id"], name="txn_org_kind_newest"),
            models.Index(fields=["organization", "channel", "-created_at", "-id"], condition=~Q(channel=""),
                         name="txn_org_channel_newest"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0) | Q(amount=0, kind="charge"),
                                   name="transaction_amount_positive_or_free_charge"),
            models.CheckConstraint(condition=Q(kind__in=TransactionKind.values), name="transaction_kind_valid"),
            models.CheckConstraint(condition=Q(traffic__in=["", *Traffic.values]), name="transaction_traffic_valid"),
            models.UniqueConstraint(fields=["lot"], condition=Q(kind="expiry"), name="one_expiry_per_lot"),
            models.UniqueConstraint(fields=["account", "period"], condition=Q(kind="invoice"),
                                    name="one_invoice_per_account_month"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def actor_label(self) -> str:
        if self.actor_user_id:
            return str(self.actor_user)
        return self.actor_service or "system"


class Posting(models.Model):
    """One signed line of a transaction on a customer account or a system account."""

    # References checked once per INSERT statement by the database (see Transaction).
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="postings",
                                    db_constraint=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="postings",
                                db_index=False, db_constraint=False)  # served by posting_account_newest
    system_account = models.ForeignKey(SystemAccount, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="postings", db_index=False,
                                       db_constraint=False)  # a handful of values: no index
    amount = MoneyField(help_text="Signed: positive adds credits to the account.")
    balance_after = MoneyField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], condition=Q(account__isnull=False),
                         name="posting_account_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(account__isnull=False, system_account__isnull=True, balance_after__isnull=False)
                           | Q(account__isnull=True, system_account__isnull=False, balance_after__isnull=True)),
                name="posting_one_side_with_balance_after",
            ),
        ]

    def __str__(self) -> str:
        return f"Posting {self.pk} of transaction #{self.transaction_id}"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"
    CAPTURED = "captured", "Captured"


class Hold(models.Model):
    """Credits reserved for a scheduled campaign. Lowers available, not balance."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds",
                                help_text="The funding account whose credits are reserved.")
    subaccount = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()
    remaining = MoneyField()
    status = models.CharField(max_length=8, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    expires_at = models.DateTimeField()
    reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_by_service = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="active"), name="hold_active_expiry")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("amount")),
                                   name="hold_remaining_within_amount"),
            models.CheckConstraint(condition=Q(status__in=HoldStatus.values), name="hold_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Hold {self.reference or self.pk} ({self.get_status_display().lower()})"


class CreditLimitChange(models.Model):
    """Append-only history of credit limit settings (who set what, when)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credit_limit_changes")
    amount = MoneyField()
    temporary_days = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    previous_limit = MoneyField()
    created_at = models.DateTimeField(default=now)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    actor_service = models.CharField(max_length=100, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="credit_limit_change_not_negative")]

    def __str__(self) -> str:
        return f"Credit limit change #{self.pk}"


class IdempotencyRecord(models.Model):
    """One idempotency key of one caller: the request it was first used for and its result."""

    caller = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    result_model = models.CharField(max_length=64, blank=True)
    result_id = models.CharField(max_length=64, blank=True)
    result_data = models.JSONField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="one_idempotency_key_per_caller")]

    def __str__(self) -> str:
        return f"{self.caller}:{self.key}"


class ConsoleFormToken(models.Model):
    """One money form shown to one staff user in the admin: it may move money at most once.

    Issued when the form is rendered (its signed id is the form's hidden `form_token` and the
    idempotency key of the service call), claimed by the first submission, and kept with what
    that submission did, so Back, reload, a resubmit or a second tab find it used.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Hash of the action's decisive values.")
    summary = models.CharField(max_length=300, blank=True, help_text="What the submission did, for people.")
    result_url = models.CharField(max_length=300, blank=True, help_text="The admin page of the entry it made.")

    class Meta:
        indexes = [models.Index(fields=["user", "organization", "action", "claimed_at"],
                                name="console_form_recent_claims"),
                   models.Index(fields=["created_at"], name="console_form_created")]

    def __str__(self) -> str:
        return f"{self.action} form {self.pk}"


class EntryTotals(models.Model):
    """What the daily and the monthly totals hold for one account, period and kind of entry (abstract)."""

    organization_id = models.UUIDField()
    account_id = models.UUIDField()
    kind = models.CharField(max_length=12)
    channel = models.CharField(max_length=16)
    country = models.CharField(max_length=2)
    category = models.CharField(max_length=32)
    credit = MoneyField(max_digits=26, help_text="Sum of the positive postings.")
    credit_count = models.BigIntegerField()
    debit = MoneyField(max_digits=26, help_text="Sum of the zero and negative postings.")
    debit_count = models.BigIntegerField()
    quantity = models.BigIntegerField(help_text="Quantity of the postings' transactions.")
    free_quantity = models.BigIntegerField(help_text="Quantity of those at a unit price of zero.")

    class Meta:
        abstract = True


class AccountDayTotal(EntryTotals):
    """Per-account totals of one local day (the org's timezone) and one kind of entry, kept by PostgreSQL.

    Maintained in the same transaction as the postings by one statement-level trigger on the postings
    table (ledger/sql/functions/ledger_day_totals.sql), whatever wrote them (charge function, Python
    writer, set-based expiry and batches). Days never change once no more postings fall in them;
    `check_ledger` compares every row with the postings. Read by the finance totals line, the org's
    balance chart and the reports (ledger/daytotals.py). Never written from Python. On SQLite (the
    zero-setup database of `make run`) the table stays empty and those reads sum the postings instead.
    """

    pk = models.CompositePrimaryKey("account_id", "day", "kind", "channel", "country", "category")
    day = models.DateField(help_text="Local calendar day in the org's timezone when the postings were written.")

    class Meta:
        indexes = [models.Index(fields=["organization_id", "day"], name="daytotal_org_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} {self.kind} {self.channel}"


class AccountMonthTotal(EntryTotals):
    """Per-account totals of one closed local month (the org's timezone), rolled up from the daily totals.

    The sums of AccountDayTotal's rows of the month, one row per account and dimensions, written by
    `ledger_month_totals_roll` (ledger/sql/functions/ledger_month_totals.sql: the nightly job, and the
    org's timezone change) for the months recorded in RolledMonth only, never by the posting path.
    The finance totals line and the reports read whole rolled months here and the rest from the daily
    rows (ledger/daytotals.py); `check_ledger` compares them with the daily rows. PostgreSQL only.
    """

    pk = models.CompositePrimaryKey("account_id", "month", "kind", "channel", "country", "category")
    month = models.DateField(help_text="First day of the local calendar month in the org's timezone.")

    class Meta:
        indexes = [models.Index(fields=["organization_id", "month"], name="monthtotal_org_month")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m} {self.kind} {self.channel}"


class RolledMonth(models.Model):
    """A closed local month of an org whose totals AccountMonthTotal holds whole (the month's daily rows summed).

    Written with the month's rows in one transaction; removed with them when a posting is written
    into the month after all (a row trigger on postings older than a day, so never on the charge path)
    or the org's timezone changes.
    """

    pk = models.CompositePrimaryKey("organization_id", "month")
    organization_id = models.UUIDField()
    month = models.DateField(help_text="First day of the local calendar month in the org's timezone.")

    def __str__(self) -> str:
        return f"{self.organization_id} {self.month:%Y-%m}"
